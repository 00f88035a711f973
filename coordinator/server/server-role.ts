/**
 * What a member's role changes in its request pipeline, in one place.
 *
 * A leader decides writes itself (a standalone server is the leader of an
 * ensemble of one), expires sessions and reaps nodes. A follower (or
 * observer) forwards writes, `sync` and session changes to its leader and
 * answers once the commit comes back; it reports the sessions it heard from.
 * A member that is electing serves no one.
 */
import type { Connection } from './connection.ts';
import type { ReplicatedState } from './replicated-state.ts';
import type { MemberConfig } from '../config/zoo-cfg.ts';
import type { Id, MultiResult, Request, Response } from '../protocol/records.ts';
import type { Txn, TxnHeader } from '../txn/txn.ts';
import type { ApplyResult } from '../tree/data-tree.ts';
import { Op, WRITE_OPS } from '../protocol/opcodes.ts';
import { replyBody } from './reply-body.ts';
import { ErrorCode } from '../protocol/error-codes.ts';
import { decodeRequest } from '../protocol/request-codec.ts';
import { prepWrite, prepCloseSession, prepCreateSession } from '../txn/prep.ts';
import { prepReconfig, type EnsembleView } from '../txn/prep-reconfig.ts';

/** On a follower these go to the leader (writes, sync and closeSession); everything else is answered locally. */
export const FORWARDED_OPS: ReadonlySet<number> = new Set<number>([...WRITE_OPS, Op.sync, Op.closeSession]);

export type ServerRole = 'leader' | 'follower' | 'looking';

/** A write a follower hands to the leader: the leader decides it with the client's identity. */
export interface ForwardedRequest {
  sessionId: bigint;
  cxid: number;
  authIds: Id[];
  kind: 'request' | 'createSession' | 'closeSession' | 'sync';
  /** The request frame (for 'request'); the timeout (for 'createSession'). */
  body: Buffer | null;
  timeoutMs: number;
}

/** A forwarded write waiting for its commit. */
export interface PendingForward {
  conn: Connection;
  req: Request | null;
  receivedAt: number;
  /** createSession: the connect response waits for the commit. */
  connectTimeout?: number;
}

/** How a role is entered (`ZkServer.setRole`). */
export type RoleChange =
  /** `nextZxid`: the zxid its first proposal will get (epoch<<32 | 1). */
  | { role: 'leader'; nextZxid: number }
  /** `send`: hands a write to the current leader. */
  | { role: 'follower'; send: (f: ForwardedRequest) => void }
  | { role: 'looking' };

/** A follower's side of forwarding: what it waits for, and whom it heard from. */
export class Following {
  private readonly pending = new Map<string, PendingForward>();
  private readonly touched = new Set<bigint>();

  constructor(private readonly send: (f: ForwardedRequest) => void) {}

  /** Sends `f` on behalf of `conn`, whose pipeline waits for the answer. */
  forward(conn: Connection, f: ForwardedRequest, req: Request | null, receivedAt: number, connectTimeout?: number): void {
    conn.pipeline.push({ kind: 'fwd' });
    this.pending.set(pendingKey(f.sessionId, f.kind === 'createSession' ? -1 : f.cxid), connectTimeout === undefined ? { conn, req, receivedAt } : { conn, req, receivedAt, connectTimeout });
    this.send(f);
  }

  /** The local request a committed txn answers, if this member forwarded it. */
  answered(sessionId: bigint, cxid: number, createSession: boolean): PendingForward | undefined {
    const key = pendingKey(sessionId, createSession ? -1 : cxid);
    const p = this.pending.get(key);
    if (p) this.pending.delete(key);
    return p;
  }

  touch(sessionId: bigint): void {
    this.touched.add(sessionId);
  }

  /** The sessions heard from since the last call (to report to the leader). */
  takeTouched(): bigint[] {
    const ids = [...this.touched];
    this.touched.clear();
    return ids;
  }
}

/** A session's connect is -1: its txn carries cxid 0, as a request's may. */
function pendingKey(sessionId: bigint, cxid: number): string {
  return `${sessionId}:${cxid}`;
}

/**
 * Leader: the txn that decides a write a follower forwarded, with the client's
 * identity. Every outcome, errors included, is proposed so the follower can
 * answer; null for a frame with nothing to decide.
 */
export function decideForwarded(
  f: ForwardedRequest,
  state: ReplicatedState,
  config: Pick<MemberConfig, 'extendedTypesEnabled' | 'maxBuffer' | 'reconfigEnabled'>,
  reconfig: { ensemble: EnsembleView; zxid: number } | null = null,
): Txn | null {
  const sessions = state.sessions;
  switch (f.kind) {
    case 'createSession':
      return prepCreateSession(f.timeoutMs);
    case 'closeSession':
      if (!sessions.has(f.sessionId) || sessions.isClosing(f.sessionId)) return { type: 'error', err: 0 };
      sessions.setClosing(f.sessionId);
      return prepCloseSession(state.tree, f.sessionId);
    case 'sync':
      return { type: 'error', err: 0 };
    case 'request': {
      if (!f.body) return null;
      const { request } = decodeRequest(f.body.subarray(4));
      if (!sessions.has(f.sessionId) || sessions.isClosing(f.sessionId)) return { type: 'error', err: ErrorCode.SESSION_EXPIRED };
      if (request.op === Op.reconfig) {
        // The follower checked reconfigEnabled with its own zoo.cfg; the leader's decides, as in ZooKeeper.
        if (!config.reconfigEnabled) return { type: 'error', err: ErrorCode.RECONFIG_DISABLED };
        if (!reconfig) return { type: 'error', err: ErrorCode.UNIMPLEMENTED };
        return prepReconfig(request, { tree: state.tree, authIds: f.authIds, ensemble: reconfig.ensemble, zxid: reconfig.zxid });
      }
      return prepWrite(request as Parameters<typeof prepWrite>[0], {
        tree: state.tree,
        sessionId: f.sessionId,
        authIds: f.authIds,
        extendedTypesEnabled: config.extendedTypesEnabled,
        maxDataBytes: config.maxBuffer,
      });
    }
  }
}

/** Follower: how a forwarded request is answered once its txn is applied here. */
export type ForwardAnswer =
  | { connect: true; timeout: number }
  /** `zxid` null: the member's last applied zxid, as for a reply that changed nothing. */
  | { connect: false; err: number; zxid: number | null; body: Response | null; close: boolean };

export function forwardAnswer(pending: PendingForward, header: TxnHeader, txn: Txn, result: ApplyResult, state: ReplicatedState): ForwardAnswer {
  const req = pending.req;
  if (txn.type === 'createSession') return { connect: true, timeout: pending.connectTimeout ?? txn.timeoutMs };
  if (req?.op === Op.sync) return { connect: false, err: 0, zxid: null, body: { op: Op.sync, path: req.path }, close: false };
  if (req?.op === Op.closeSession) return { connect: false, err: 0, zxid: null, body: null, close: true };
  if (txn.type === 'error') return { connect: false, err: txn.err, zxid: null, body: null, close: false };
  const failed = failedMultiResults(txn);
  if (failed) return { connect: false, err: 0, zxid: null, body: { op: Op.multi, results: failed }, close: false };
  return { connect: false, err: 0, zxid: header.zxid, body: req ? replyBody(req, result.result, state) : null, close: false };
}

/** The per-op results of a multi that failed (every entry an ErrorTxn), or null. */
export function failedMultiResults(txn: Txn): MultiResult[] | null {
  if (txn.type !== 'multi' || txn.txns.length === 0 || !txn.txns.every((t) => t.type === 'error')) return null;
  return txn.txns.map((t) => ({ type: -1, err: t.type === 'error' ? t.err : 0 }));
}
