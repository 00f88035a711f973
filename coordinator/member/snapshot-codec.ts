/**
 * A snapshot's payload: the serialized tree, then the session table.
 * Layout: u32 treeBytes | tree | u32 sessionBytes | sessions. The storage
 * layer adds the checksum and the zxid around it.
 */
import { DataTree } from '../tree/data-tree.ts';
import { SessionTable } from '../session/session-table.ts';
import { ReplicatedState } from '../server/replicated-state.ts';

export function encodeSnapshot(state: ReplicatedState): Buffer {
  const tree = state.tree.serialize();
  const sessions = state.sessions.serialize();
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
