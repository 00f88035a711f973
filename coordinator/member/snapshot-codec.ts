/**
 * A snapshot's payload: the tree (self-delimiting, see SnapshotCursor), then
 * the session table. The storage layer adds the checksum and the zxid.
 */
import { DataTree } from '../tree/data-tree.ts';
import { SessionTable } from '../session/session-table.ts';
import { ReplicatedState } from '../server/replicated-state.ts';
import { JuteReader } from '../protocol/reader.ts';

/** Whole snapshot at once. */
export function encodeSnapshot(state: ReplicatedState): Buffer {
  return Buffer.concat([state.tree.serialize(), state.sessions.serialize()]);
}

/**
 * A fuzzy snapshot written a slice per event-loop turn, so clients are not
 * stalled behind a large tree. Sessions are taken at the start; the log
 * after `zxid` is replayed over both.
 */
export async function encodeSnapshotInSlices(state: ReplicatedState, nodesPerSlice = 2000): Promise<{ zxid: number; chunks: Buffer[] }> {
  const sessions = state.sessions.serialize();
  const cursor = state.tree.snapshotCursor();
  while (!cursor.step(nodesPerSlice)) await new Promise<void>((resolve) => setImmediate(resolve));
  return { zxid: cursor.zxid, chunks: [...cursor.finish(), sessions] };
}

export function decodeSnapshot(bytes: Buffer, tickMs: number, now: number): ReplicatedState {
  const r = new JuteReader(bytes);
  const tree = DataTree.readFrom(r);
  const sessions = SessionTable.readFrom(r, tickMs, now);
  return new ReplicatedState(tree, sessions);
}
