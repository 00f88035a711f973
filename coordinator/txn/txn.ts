/**
 * Transactions: the decided, deterministic form of a write. `prep` turns a
 * request into a Txn against the current tree (validation, ACLs, sequential
 * names, versions); `applyTxn` applies a Txn to a tree and never fails for a
 * Txn that prep produced. ZAB replicates Txns; the log stores them.
 */
import type { Acl } from '../protocol/records.ts';

export interface TxnHeader {
  /** The session the txn came from (0n for server-internal txns such as container reaping). */
  sessionId: bigint;
  /** The client's xid for the request (for replies); 0 for internal txns. */
  cxid: number;
  zxid: number;
  /** Leader's wall clock when the txn was prepared, ms since epoch: becomes ctime/mtime. */
  time: number;
}

/** ephemeralOwner markers for special node kinds (ZooKeeper's EphemeralType). */
export const CONTAINER_OWNER = 0x8000000000000000n;
export const TTL_OWNER_MASK = 0xff00000000000000n;
export function ttlOwner(ttlMs: number): bigint {
  return TTL_OWNER_MASK | BigInt(ttlMs);
}

export interface CreateTxn {
  type: 'create';
  path: string;
  data: Buffer | null;
  acl: Acl[];
  /** 0n persistent, session id for ephemerals, CONTAINER_OWNER, or ttlOwner(ms). */
  ephemeralOwner: bigint;
  /** The parent's stored cversion (creation count) after this create: makes replay idempotent. */
  parentCVersion: number;
}
export interface DeleteTxn {
  type: 'delete';
  path: string;
}
export interface SetDataTxn {
  type: 'setData';
  path: string;
  data: Buffer | null;
  /** The new version (absolute, not a delta). */
  version: number;
}
export interface SetAclTxn {
  type: 'setACL';
  path: string;
  acl: Acl[];
  /** The new aversion. */
  version: number;
}
export interface CheckTxn {
  type: 'check';
  path: string;
  version: number;
}
export interface CreateSessionTxn {
  type: 'createSession';
  timeoutMs: number;
}
export interface CloseSessionTxn {
  type: 'closeSession';
  /** Ephemerals to delete, listed at prep time. */
  paths: string[];
}
export interface ErrorTxn {
  type: 'error';
  err: number;
}
/**
 * A committed dynamic reconfiguration (ADR 0011): `/zookeeper/config` gets
 * `data` (the new configuration's text) with version -1, as ZooKeeper's
 * SetDataTxn for a reconfig sets it.
 */
export interface ReconfigTxn {
  type: 'reconfig';
  data: Buffer;
}
/** Each sub-txn is applied in order; a failed multi is a multi of ErrorTxns. */
export interface MultiTxn {
  type: 'multi';
  txns: (CreateTxn | DeleteTxn | SetDataTxn | CheckTxn | ErrorTxn)[];
}

export type Txn =
  | CreateTxn
  | DeleteTxn
  | SetDataTxn
  | SetAclTxn
  | CheckTxn
  | CreateSessionTxn
  | CloseSessionTxn
  | ErrorTxn
  | ReconfigTxn
  | MultiTxn;

export interface LoggedTxn {
  header: TxnHeader;
  txn: Txn;
}
