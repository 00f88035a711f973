/**
 * A snapshot's payload: the serialized tree, then the session table.
 * Layout: u32 treeBytes | tree | u32 sessionBytes | sessions. The storage
 * layer adds the checksum and the zxid around it.
 */
import { DataTree } from '../tree/data-tree.ts';
import { SessionTable } from '../session/session-table.ts';
import { ReplicatedState } from '../server/replicated-state.ts';

/** Whole snapshot at once. */
export function encodeSnapshot(state: ReplicatedState): Buffer {
  return joinSnapshot(state.tree.serialize(), state.sessions.serialize());
}

/**
 * A fuzzy snapshot written a slice per event-loop turn, so clients are not
 * stalled behind a large tree. Sessions are taken at the start; the log
 * after `zxid` is replayed over both.
 */
export async function encodeSnapshotInSlices(state: ReplicatedState, nodesPerSlice = 5000): Promise<{ zxid: number; bytes: Buffer }> {
  const sessions = state.sessions.serialize();
  const cursor = state.tree.snapshotCursor();
  while (!cursor.step(nodesPerSlice)) await new Promise<void>((resolve) => setImmediate(resolve));
  return { zxid: cursor.zxid, bytes: joinSnapshot(cursor.finish(), sessions) };
}

function joinSnapshot(tree: Buffer, sessions: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(tree.length, 0);
  const mid = Buffer.alloc(4);
  mid.writeUInt32BE(sessions.length, 0);
  return Buffer.concat([head, tree, mid, sessions]);
}

export function decodeSnapshot(bytes: Buffer, tickMs: number, now: number): ReplicatedState {
  const treeLen = bytes.readUInt32BE(0);
  const tree = DataTree.deserialize(bytes.subarray(4, 4 + treeLen));
  const sessLen = bytes.readUInt32BE(4 + treeLen);
  const sessions = SessionTable.deserialize(bytes.subarray(8 + treeLen, 8 + treeLen + sessLen), tickMs, now);
  return new ReplicatedState(tree, sessions);
}
