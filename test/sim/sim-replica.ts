/**
 * The simulator's clients and replicated state, in production terms: what a
 * simulated client asks becomes the `ForwardedRequest` a follower would hand
 * its leader (the request frame encoded by the production request codec), the
 * leader decides it with the production `decideForwarded` against its own
 * `ReplicatedState` (DataTree + SessionTable), applies it ahead of the commit
 * as `ZkServer.commit` does, and proposes the bytes the production txn codec
 * makes. Every member applies committed txns to its own `ReplicatedState`;
 * snapshots are the production snapshot codec's bytes.
 *
 * Also here: a canonical dump of a state (for comparing members whose trees
 * were built in different orders, e.g. restored from a snapshot or applied
 * live) and the session checks (no ephemeral outlives its session).
 */
import { createHash } from 'node:crypto';
import { ReplicatedState } from '../../coordinator/server/replicated-state.ts';
import { decideForwarded, type ForwardedRequest } from '../../coordinator/server/server-role.ts';
import { encodeRequest } from '../../coordinator/protocol/request-codec.ts';
import { encodeTxn } from '../../coordinator/protocol/txn-codec.ts';
import { Op, Perm } from '../../coordinator/protocol/opcodes.ts';
import type { Acl, Request } from '../../coordinator/protocol/records.ts';
import type { Txn, TxnHeader } from '../../coordinator/txn/txn.ts';
import type { DataTree } from '../../coordinator/tree/data-tree.ts';
import type { Znode } from '../../coordinator/tree/znode.ts';
import { kindOf } from '../../coordinator/tree/znode.ts';

/** Session buckets are in steps (the step counter is the sim's clock); expiry is not simulated, closes are. */
export const SIM_TICK_MS = 1;
/** The session the linearizable readers' syncs come from (a sync is never checked against the table, as in production). */
export const READ_SESSION = 1n;
/** The key-value clients' session: opened (again) by whoever leads when its state lacks it, never closed. */
export const KV_SESSION = 2n;
/** Sessions the session clients open are numbered from here (all are ephemeral owners: no container or TTL bits). */
export const FIRST_CLIENT_SESSION = 0x100n;

export const OPEN_ACL: Acl[] = [{ perms: Perm.all, id: { scheme: 'world', id: 'anyone' } }];
/** What the leader's zoo.cfg says that prep reads (production defaults). */
const PREP_CONFIG = { extendedTypesEnabled: false, maxBuffer: 1 << 20, reconfigEnabled: false };

/** A client's request as a follower forwards it: the frame `encodeRequest` makes. */
export function forwardedRequest(sessionId: bigint, cxid: number, req: Request): ForwardedRequest {
  return { sessionId, cxid, authIds: [], kind: 'request', body: encodeRequest({ xid: cxid, type: req.op }, req), timeoutMs: 0 };
}

export function forwardedSession(kind: 'createSession' | 'closeSession' | 'sync', sessionId: bigint, cxid: number, timeoutMs = 0): ForwardedRequest {
  return { sessionId, cxid, authIds: [], kind, body: null, timeoutMs };
}

/** The leader's decision on a forwarded request (production's), errors included: every outcome is proposed. */
export function decide(state: ReplicatedState, f: ForwardedRequest): Txn {
  const txn = decideForwarded(f, state, PREP_CONFIG);
  if (!txn) throw new Error(`decideForwarded gave nothing for a ${f.kind}`);
  return txn;
}

export function encodeLogged(header: TxnHeader, txn: Txn): Buffer {
  return encodeTxn({ header, txn });
}

export function kvPath(key: string): string {
  return '/' + key;
}

/** The key-value view of a tree: key k is the data of /k (absent: null). */
export function kvValue(state: ReplicatedState, key: string): string | null {
  return state.tree.get(kvPath(key))?.data?.toString() ?? null;
}

/** A key-value client's write: create /k the first time, then setData (any version). */
export function kvSetRequest(state: ReplicatedState, key: string, value: string): Request {
  const path = kvPath(key);
  const data = Buffer.from(value);
  return state.tree.get(path) ? { op: Op.setData, path, data, version: -1 } : { op: Op.create, path, data, acl: OPEN_ACL, flags: 0 };
}

/** Every node, parents before children, children in name order: the same walk whatever order they were made in. */
export function* walk(tree: DataTree): Generator<[string, Znode]> {
  const stack = ['/'];
  while (stack.length > 0) {
    const path = stack.pop() as string;
    const node = tree.get(path);
    if (!node) continue;
    yield [path, node];
    const kids = [...node.children.keys()].sort().reverse();
    for (const k of kids) stack.push(path === '/' ? '/' + k : path + '/' + k);
  }
}

/**
 * A canonical dump of everything members must agree on: every node with its
 * data and stored stat, the sessions (id, timeout; expiry times and the
 * leader-local `closing` mark are not replicated) and the ephemerals index.
 */
export function dumpState(s: ReplicatedState): string[] {
  const lines = [`lastZxid ${s.lastZxid}`];
  for (const [path, n] of walk(s.tree)) {
    const acl = n.acl.map((a) => `${a.perms}:${a.id.scheme}:${a.id.id}`).join(';');
    lines.push(
      `${path} d=${n.data === null ? '-' : n.data.toString('base64')} cz=${n.czxid} mz=${n.mzxid} ct=${n.ctime} mt=${n.mtime} v=${n.version} cv=${n.cversion} av=${n.aversion} o=${n.ephemeralOwner} pz=${n.pzxid} n=${n.numChildren} acl=${acl}`,
    );
  }
  for (const e of [...s.sessions.entries()].sort((a, b) => (a.id < b.id ? -1 : 1))) lines.push(`session ${e.id} t=${e.timeoutMs}`);
  const eph = [...s.tree.sessionsWithEphemerals()].filter(([, paths]) => paths.size > 0).sort((a, b) => (a[0] < b[0] ? -1 : 1));
  for (const [id, paths] of eph) lines.push(`ephemerals ${id} ${[...paths].sort().join(',')}`);
  return lines;
}

export function digestOf(lines: readonly string[]): string {
  return createHash('sha1').update(lines.join('\n')).digest('hex');
}

/** Where two dumps first differ, for the failure message. */
export function firstDifference(a: readonly string[], b: readonly string[]): string {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i]) return `line ${i}: '${a[i] ?? '(none)'}' vs '${b[i] ?? '(none)'}'`;
  }
  return 'no difference';
}

/** Nodes whose ephemeralOwner is `sessionId`. */
export function nodesOwnedBy(tree: DataTree, sessionId: bigint): string[] {
  const out: string[] = [];
  for (const [path, n] of walk(tree)) if (n.ephemeralOwner === sessionId) out.push(path);
  return out;
}

/** Ephemerals whose session the table does not hold: each would outlive its session forever. */
export function orphanedEphemerals(s: ReplicatedState): string[] {
  const out: string[] = [];
  for (const [path, n] of walk(s.tree)) if (kindOf(n.ephemeralOwner) === 'ephemeral' && !s.sessions.has(n.ephemeralOwner)) out.push(`${path} (session ${n.ephemeralOwner})`);
  return out;
}
