/**
 * The state every member holds identically: the data tree and the session
 * table, changed only by applying transactions in zxid order. Live serving
 * and log replay both go through `apply`, so recovery cannot drift from what
 * the server did while running.
 */
import { DataTree, type ApplyResult } from '../tree/data-tree.ts';
import { SessionTable } from '../session/session-table.ts';
import type { TxnHeader, Txn } from '../txn/txn.ts';

export class ReplicatedState {
  constructor(
    public tree: DataTree,
    public sessions: SessionTable,
  ) {}

  static empty(tickMs: number): ReplicatedState {
    return new ReplicatedState(new DataTree(), new SessionTable(tickMs));
  }

  get lastZxid(): number {
    return this.tree.lastZxid;
  }

  /** `now` only places a new session in an expiry bucket; it never changes the tree. */
  apply(header: TxnHeader, txn: Txn, now: number): ApplyResult {
    const result = this.tree.apply(header, txn);
    if (txn.type === 'createSession') {
      this.sessions.add(header.sessionId, txn.timeoutMs, now);
    } else if (txn.type === 'closeSession') {
      this.sessions.remove(header.sessionId);
    }
    return result;
  }
}
