/**
 * The request pipeline of a serving member, between the sockets and the
 * replicated state.
 *
 * Writes are prepared and applied at once (speculatively) so that later
 * requests see them, then handed to the committer; every reply and watch
 * event is queued on its connection tagged with the zxid it depends on and
 * released only when that zxid is committed. Reads therefore never show a
 * client anything a crash could take back, and each connection's output
 * keeps request order.
 *
 * The member it runs in (member/ensemble-member.ts; a standalone server is
 * an ensemble of one) sets its role; what a role changes here — a leader
 * decides writes, a follower forwards them and answers on commit, a member
 * electing serves no one — is in server-role.ts.
 */
import { addAuth } from '../acl/auth-packet.ts';
import { restoreWatches } from '../watch/set-watches.ts';
import { armReadWatch, watchRequest } from '../watch/watch-requests.ts';
import { ReplyRelease } from './reply-release.ts';
import { newServerCounters } from './server-stats.ts';
import type { Logger } from 'pino';
import type { Connection } from './connection.ts';
import type { ReplicatedState } from './replicated-state.ts';
import type { MemberConfig } from '../config/zoo-cfg.ts';
import type {
  ConnectRequest,
  ReconfigRequest,
  Request,
  RequestHeader,
  Response,
  SetWatchesRequest,
} from '../protocol/records.ts';
import type { LoggedTxn, Txn, TxnHeader } from '../txn/txn.ts';
import type { ApplyResult, TreeEvent } from '../tree/data-tree.ts';
import { ErrorCode, ZkError, ProtocolError } from '../protocol/error-codes.ts';
import { Op, Perm, WRITE_OPS, Xid, opName } from '../protocol/opcodes.ts';
import { decodeConnectRequest, decodeRequest, encodeRequest } from '../protocol/request-codec.ts';
import { encodeConnectResponse, encodeNotification, encodeReply } from '../protocol/reply-codec.ts';
import { encodeTxn, decodeTxn } from '../protocol/txn-codec.ts';
import { replyBody, whoAmI } from './reply-body.ts';
import { prepWrite, prepCloseSession, prepCreateSession } from '../txn/prep.ts';
import { prepReconfig, type EnsembleView } from '../txn/prep-reconfig.ts';
import { executeRead } from '../tree/read-ops.ts';
import { validatePath } from '../tree/path.ts';
import { checkPerm } from '../acl/check.ts';
import { WatchTable } from '../watch/watch-table.ts';
import { negotiateTimeout } from '../session/session-table.ts';
import { sessionPassword } from '../session/session-id.ts';
import { FORWARDED_OPS, Following, decideForwarded, failedMultiResults, forwardAnswer, type ForwardedRequest, type PendingForward, type RoleChange, type ServerRole } from './server-role.ts';

export type { ForwardedRequest, ServerRole } from './server-role.ts';

export interface TxnSink {
  /** Persist (and, in an ensemble, replicate) a txn already applied locally. */
  propose(entry: { zxid: number; bytes: Buffer }): void;
}

const ZERO_PASSWD = Buffer.alloc(16);

export interface ZkServerOptions {
  config: MemberConfig;
  state: ReplicatedState;
  sink: TxnSink;
  log: Logger;
  /** Wall clock for ctime/mtime and session buckets. */
  now: () => number;
  firstSessionId: bigint;
  sessionSecret: Buffer;
  /** The ensemble's configuration as its leader knows it; absent for a standalone server (reconfig: Unimplemented). */
  ensemble?: EnsembleView;
}

export class ZkServer {
  readonly watches = new WatchTable<Connection>();
  readonly connections = new Set<Connection>();
  readonly counters = newServerCounters();
  /** Highest zxid prepared (and applied to `state`). */
  lastZxid: number;
  /** Output held until what it may show is durable (reply-release.ts). */
  private readonly out: ReplyRelease;
  private nextSessionId: bigint;
  private readonly owners = new Map<bigint, Connection>();
  private readonly log: Logger;
  private readonly config: MemberConfig;
  private stopped = false;
  private currentRole: ServerRole = 'looking';
  /** Set while following (server-role.ts): the role's state lives there, not here. */
  private following: Following | null = null;

  constructor(private opts: ZkServerOptions) {
    this.config = opts.config;
    this.log = opts.log;
    this.lastZxid = opts.state.lastZxid;
    this.out = new ReplyRelease(this.counters, this.lastZxid);
    this.nextSessionId = opts.firstSessionId;
  }

  get state(): ReplicatedState {
    return this.opts.state;
  }

  /** What this member serves as (set by the member it runs in, `setRole`). */
  get role(): ServerRole {
    return this.currentRole;
  }

  // ------------------------------------------------------------ connections

  attach(conn: Connection): void {
    this.connections.add(conn);
  }

  detach(conn: Connection): void {
    if (!this.connections.delete(conn)) return;
    this.watches.removeWatcher(conn);
    this.out.forget(conn);
    if (conn.sessionId !== 0n && this.owners.get(conn.sessionId) === conn) this.owners.delete(conn.sessionId);
  }

  /** One complete frame from a connection. Never throws: bad input closes that connection only. */
  onFrame(conn: Connection, body: Buffer, receivedAt: number): void {
    if (conn.closed || this.stopped) return;
    this.counters.packetsReceived++;
    conn.stats.received++;
    try {
      if (!conn.handshakeDone) {
        this.handleConnect(conn, decodeConnectRequest(body), receivedAt);
        return;
      }
      let decoded: { header: RequestHeader; request: Request };
      try {
        decoded = decodeRequest(body);
      } catch (err) {
        if (err instanceof ZkError && err.code === ErrorCode.UNIMPLEMENTED && body.length >= 4) {
          // Unknown opcode: ZooKeeper answers Unimplemented, then drops the connection.
          this.reply(conn, { xid: body.readInt32BE(0), zxid: this.lastZxid, err: ErrorCode.UNIMPLEMENTED }, null, receivedAt);
          conn.closeAfterFlush = true;
          this.out.markDirty(conn);
          return;
        }
        throw err;
      }
      this.handleRequest(conn, decoded.header, decoded.request, receivedAt, false, body);
    } catch (err) {
      if (err instanceof ProtocolError || err instanceof ZkError) {
        this.log.debug({ peer: conn.remoteAddress, err: err.message }, 'malformed request; closing connection');
        conn.destroy();
        return;
      }
      // A bug, not bad input: log loudly, drop this client, keep serving the others.
      this.log.error({ err }, 'unexpected error while handling a request');
      conn.destroy();
    }
  }

  /** Every packet from a client keeps its session alive. */
  touch(conn: Connection, now: number): void {
    if (conn.sessionId === 0n) return;
    this.state.sessions.touch(conn.sessionId, now);
    this.following?.touch(conn.sessionId);
  }

  // ------------------------------------------------------------ handshake

  private handleConnect(conn: Connection, req: ConnectRequest, receivedAt: number): void {
    conn.handshakeDone = true;
    if (this.currentRole === 'looking') {
      // Not serving: the client will try another member.
      conn.destroy();
      return;
    }
    conn.readOnlyByte = req.readOnly === undefined ? undefined : false;
    if (req.lastZxidSeen > this.lastZxid) {
      // The client has seen more than we have: it must find a more current server.
      this.log.info({ peer: conn.remoteAddress, clientZxid: req.lastZxidSeen, zxid: this.lastZxid }, 'client is ahead of this server; closing');
      conn.destroy();
      return;
    }
    const cfg = this.config;
    const timeout = negotiateTimeout(req.timeOut, cfg.minSessionTimeout, cfg.maxSessionTimeout);
    const sessions = this.state.sessions;
    const now = this.opts.now();
    if (req.sessionId === 0n) {
      const id = this.nextSessionId++;
      conn.sessionId = id;
      this.owners.set(id, conn);
      if (this.following) {
        this.forwardWrite(this.following, conn, { sessionId: id, cxid: 0, authIds: conn.authIds, kind: 'createSession', body: null, timeoutMs: timeout }, null, receivedAt, timeout);
        return;
      }
      this.commit(conn, { sessionId: id, cxid: 0, zxid: 0, time: now }, prepCreateSession(timeout), null, receivedAt);
      this.queue(
        conn,
        encodeConnectResponse({ protocolVersion: 0, timeOut: timeout, sessionId: id, passwd: this.password(id), readOnly: conn.readOnlyByte }),
        receivedAt,
      );
      this.log.debug({ sessionId: hex(id), timeout, peer: conn.remoteAddress }, 'session created');
      return;
    }
    const id = req.sessionId;
    const valid = sessions.has(id) && !sessions.isClosing(id) && req.passwd.equals(this.password(id));
    if (!valid) {
      this.queue(conn, encodeConnectResponse({ protocolVersion: 0, timeOut: 0, sessionId: 0n, passwd: ZERO_PASSWD, readOnly: conn.readOnlyByte }), receivedAt);
      conn.closeAfterFlush = true;
      this.log.debug({ sessionId: hex(id) }, 'reconnect refused: session expired or bad password');
      return;
    }
    sessions.touch(id, now);
    const previous = this.owners.get(id);
    if (previous && previous !== conn) previous.destroy();
    conn.sessionId = id;
    this.owners.set(id, conn);
    const t = sessions.timeoutOf(id) ?? timeout;
    this.queue(conn, encodeConnectResponse({ protocolVersion: 0, timeOut: t, sessionId: id, passwd: this.password(id), readOnly: conn.readOnlyByte }), receivedAt);
  }

  private password(id: bigint): Buffer {
    return sessionPassword(this.opts.sessionSecret, id);
  }

  // ------------------------------------------------------------ requests

  /** `frame`: the request as it came (no length prefix), when known: a follower forwards those bytes rather than encoding them again. */
  private handleRequest(conn: Connection, header: RequestHeader, req: Request, receivedAt: number, released = false, frame?: Buffer): void {
    if (!released && conn.pipeline.length > 0 && !FORWARDED_OPS.has(req.op)) {
      // Behind a forwarded write: answering now would overtake its reply.
      conn.pipeline.push({ kind: 'local', header, req, receivedAt });
      return;
    }
    conn.stats.lastCxid = header.xid;
    conn.stats.lastOp = opName(req.op);
    if (WRITE_OPS.has(req.op)) {
      this.handleWrite(conn, header, req, receivedAt, frame);
      return;
    }
    const xid = header.xid;
    switch (req.op) {
      case Op.ping:
        this.reply(conn, { xid: Xid.ping, zxid: this.lastZxid, err: 0 }, null, 0);
        return;
      case Op.exists:
      case Op.getData:
      case Op.getChildren:
      case Op.getChildren2:
      case Op.getACL:
      case Op.getAllChildrenNumber:
      case Op.getEphemerals:
      case Op.multiRead: {
        let response: Response;
        try {
          response = executeRead(req, { tree: this.state.tree, authIds: conn.authIds, sessionId: conn.sessionId });
        } catch (err) {
          if (!(err instanceof ZkError)) throw err;
          armReadWatch(this.watches, conn, req, err.code);
          this.reply(conn, { xid, zxid: this.lastZxid, err: err.code }, null, receivedAt);
          return;
        }
        armReadWatch(this.watches, conn, req);
        this.reply(conn, { xid, zxid: this.lastZxid, err: 0 }, response, receivedAt);
        return;
      }
      case Op.sync:
        if (this.following) {
          // The leader answers once everything before it is committed; so does this member, once applied.
          this.forwardWrite(this.following, conn, { sessionId: conn.sessionId, cxid: xid, authIds: conn.authIds, kind: 'sync', body: null, timeoutMs: 0 }, req, receivedAt);
          return;
        }
        this.replyChecked(conn, xid, () => {
          validatePath(req.path);
          return { op: Op.sync, path: req.path };
        }, receivedAt);
        return;
      case Op.auth:
        this.handleAuth(conn, xid, req.scheme, req.auth, receivedAt);
        return;
      case Op.setWatches:
      case Op.setWatches2:
        this.handleSetWatches(conn, xid, req, receivedAt);
        return;
      case Op.addWatch:
      case Op.checkWatches:
      case Op.removeWatches:
        this.replyChecked(conn, xid, () => watchRequest(this.watches, conn, req), receivedAt);
        return;
      case Op.whoAmI:
        this.reply(conn, { xid, zxid: this.lastZxid, err: 0 }, { op: Op.whoAmI, clientInfo: whoAmI(conn.authIds) }, receivedAt);
        return;
      case Op.closeSession:
        this.handleCloseSession(conn, xid, receivedAt);
        return;
      case Op.reconfig:
        this.handleReconfig(conn, header, req, receivedAt, frame);
        return;
      default:
        // sasl and anything else we do not serve: as for an unknown opcode.
        this.reply(conn, { xid, zxid: this.lastZxid, err: ErrorCode.UNIMPLEMENTED }, null, receivedAt);
        conn.closeAfterFlush = true;
        return;
    }
  }

  private replyChecked(conn: Connection, xid: number, fn: () => Response, receivedAt: number): void {
    let response: Response;
    try {
      response = fn();
    } catch (err) {
      if (!(err instanceof ZkError)) throw err;
      this.reply(conn, { xid, zxid: this.lastZxid, err: err.code }, null, receivedAt);
      return;
    }
    this.reply(conn, { xid, zxid: this.lastZxid, err: 0 }, response, receivedAt);
  }

  private handleWrite(conn: Connection, header: RequestHeader, req: Request, receivedAt: number, frame?: Buffer): void {
    const xid = header.xid;
    const sessions = this.state.sessions;
    if (!sessions.has(conn.sessionId) || sessions.isClosing(conn.sessionId)) {
      this.reply(conn, { xid, zxid: this.lastZxid, err: ErrorCode.SESSION_EXPIRED }, null, receivedAt);
      return;
    }
    if (req.op === Op.multi && req.ops.length === 0) {
      this.reply(conn, { xid, zxid: this.lastZxid, err: 0 }, { op: Op.multi, results: [] }, receivedAt);
      return;
    }
    if (this.following) {
      // The leader decodes the same bytes the same way: pass them on (length-prefixed, as
      // encodeRequest makes them) instead of encoding the decoded request again.
      const body = frame ? prefixed(frame) : encodeRequest(header, req);
      this.forwardWrite(this.following, conn, { sessionId: conn.sessionId, cxid: xid, authIds: conn.authIds, kind: 'request', body, timeoutMs: 0 }, req, receivedAt);
      return;
    }
    const txn = prepWrite(req as Parameters<typeof prepWrite>[0], {
      tree: this.state.tree,
      sessionId: conn.sessionId,
      authIds: conn.authIds,
      extendedTypesEnabled: this.config.extendedTypesEnabled,
      maxDataBytes: this.config.maxBuffer,
    });
    if (txn.type === 'error') {
      this.reply(conn, { xid, zxid: this.lastZxid, err: txn.err }, null, receivedAt);
      return;
    }
    const failed = failedMultiResults(txn);
    if (failed) {
      // A failed multi changes nothing; its per-op results still travel in an err-0 reply.
      this.reply(conn, { xid, zxid: this.lastZxid, err: 0 }, { op: Op.multi, results: failed }, receivedAt);
      return;
    }
    this.commit(conn, { sessionId: conn.sessionId, cxid: xid, zxid: 0, time: this.opts.now() }, txn, req, receivedAt);
  }

  /**
   * reconfig (ADR 0011): ReconfigDisabled unless zoo.cfg says
   * reconfigEnabled=true; Unimplemented standalone, as ZooKeeper's; else a
   * write the leader decides (prep-reconfig.ts), a follower forwards.
   */
  private handleReconfig(conn: Connection, header: RequestHeader, req: ReconfigRequest, receivedAt: number, frame?: Buffer): void {
    const xid = header.xid;
    if (!this.config.reconfigEnabled) {
      this.reply(conn, { xid, zxid: this.lastZxid, err: ErrorCode.RECONFIG_DISABLED }, null, receivedAt);
      return;
    }
    const sessions = this.state.sessions;
    if (!sessions.has(conn.sessionId) || sessions.isClosing(conn.sessionId)) {
      this.reply(conn, { xid, zxid: this.lastZxid, err: ErrorCode.SESSION_EXPIRED }, null, receivedAt);
      return;
    }
    const ensemble = this.opts.ensemble;
    if (!ensemble) {
      this.reply(conn, { xid, zxid: this.lastZxid, err: ErrorCode.UNIMPLEMENTED }, null, receivedAt);
      return;
    }
    if (this.following) {
      const body = frame ? prefixed(frame) : encodeRequest(header, req);
      this.forwardWrite(this.following, conn, { sessionId: conn.sessionId, cxid: xid, authIds: conn.authIds, kind: 'request', body, timeoutMs: 0 }, req, receivedAt);
      return;
    }
    const txn = prepReconfig(req, { tree: this.state.tree, authIds: conn.authIds, ensemble, zxid: this.lastZxid + 1 });
    if (txn.type === 'error') {
      this.reply(conn, { xid, zxid: this.lastZxid, err: txn.err }, null, receivedAt);
      return;
    }
    this.log.info({ sessionId: hex(conn.sessionId), zxid: hex(this.lastZxid + 1) }, 'proposing a reconfiguration');
    this.commit(conn, { sessionId: conn.sessionId, cxid: xid, zxid: 0, time: this.opts.now() }, txn, req, receivedAt);
  }

  private handleCloseSession(conn: Connection, xid: number, receivedAt: number): void {
    const id = conn.sessionId;
    const sessions = this.state.sessions;
    if (sessions.has(id) && !sessions.isClosing(id) && this.following) {
      // The reply (and the close) come when the leader's closeSession is applied here.
      this.forwardWrite(this.following, conn, { sessionId: id, cxid: xid, authIds: conn.authIds, kind: 'closeSession', body: null, timeoutMs: 0 }, { op: Op.closeSession }, receivedAt);
      return;
    } else if (sessions.has(id) && !sessions.isClosing(id)) {
      sessions.setClosing(id);
      this.commit(conn, { sessionId: id, cxid: xid, zxid: 0, time: this.opts.now() }, prepCloseSession(this.state.tree, id), { op: Op.closeSession }, receivedAt);
    } else {
      this.reply(conn, { xid, zxid: this.lastZxid, err: 0 }, null, receivedAt);
    }
    conn.closeAfterFlush = true;
    this.out.markDirty(conn);
  }

  private handleAuth(conn: Connection, xid: number, scheme: string, auth: Buffer, receivedAt: number): void {
    if (addAuth(conn.authIds, scheme, auth, this.config.superDigest)) {
      this.reply(conn, { xid, zxid: 0, err: 0 }, null, receivedAt);
      return;
    }
    this.reply(conn, { xid, zxid: 0, err: ErrorCode.AUTH_FAILED }, null, receivedAt);
    conn.closeAfterFlush = true;
  }

  private handleSetWatches(conn: Connection, xid: number, req: SetWatchesRequest, receivedAt: number): void {
    restoreWatches(this.state.tree, this.watches, conn, req, (type, path) => this.notify(conn, type, path));
    this.reply(conn, { xid, zxid: this.lastZxid, err: 0 }, null, receivedAt);
  }

  // ------------------------------------------------------------ commit path

  /**
   * Assigns the next zxid, applies the txn, fires watches, queues the reply
   * (when `req` is given) and hands the txn to the sink. Also used for
   * server-made txns (session expiry, container reaping) with conn = null.
   */
  commit(conn: Connection | null, header: TxnHeader, txn: Txn, req: Request | null, receivedAt: number): ApplyResult {
    const zxid = ++this.lastZxid;
    header.zxid = zxid;
    const result = this.state.apply(header, txn, this.opts.now());
    if (result.events.length > 0) this.watches.trigger(result.events, this.deliver);
    if (conn && req) {
      this.reply(conn, { xid: header.cxid, zxid, err: 0 }, replyBody(req, result.result, this.state), receivedAt);
    }
    const logged: LoggedTxn = { header, txn };
    this.opts.sink.propose({ zxid, bytes: encodeTxn(logged) });
    return result;
  }

  /**
   * Watches are set without an ACL check (addWatch, setWatches, exists on a
   * missing node), so the check is here: an event goes only to a connection
   * that may READ the node it names, else a watch would leak the paths below
   * a node the watcher can read (ZooKeeper 3.8.4, CVE-2024-23944). A one-shot
   * watch whose event is dropped is used up all the same, as in ZooKeeper.
   */
  private readonly deliver = (w: Connection, type: 1 | 2 | 3 | 4, path: string, event: TreeEvent): void => {
    if (!checkPerm(event.acl, Perm.read, w.authIds)) return;
    this.notify(w, type, path);
  };

  private notify(conn: Connection, type: 1 | 2 | 3 | 4, path: string): void {
    if (conn.closed) return;
    this.out.queue(conn, encodeNotification({ type, state: 3, path }), this.lastZxid, 0);
  }

  private reply(conn: Connection, header: { xid: number; zxid: number; err: number }, response: Response | null, receivedAt: number): void {
    conn.stats.lastZxid = header.zxid;
    this.out.queue(conn, encodeReply(header, header.err === 0 ? response : null), this.lastZxid, receivedAt);
  }

  private queue(conn: Connection, frame: Buffer, receivedAt: number): void {
    this.out.queue(conn, frame, this.lastZxid, receivedAt);
  }

  /** The sink calls this when every txn up to `zxid` is durable. */
  onDurable(zxid: number): void {
    this.out.durable(zxid);
  }

  // ------------------------------------------------------------ housekeeping

  /** Expires due sessions: each becomes a closeSession txn that removes its ephemerals. */
  expireSessions(now: number): void {
    if (this.currentRole !== 'leader') return;
    for (const id of this.state.sessions.expireDue(now)) {
      this.log.info({ sessionId: hex(id) }, 'session expired');
      this.commit(null, { sessionId: id, cxid: 0, zxid: 0, time: now }, prepCloseSession(this.state.tree, id), null, 0);
      const owner = this.owners.get(id);
      if (owner) {
        this.owners.delete(id);
        owner.closeAfterFlush = true;
        this.out.markDirty(owner);
      }
    }
  }

  /** Deletes empty containers and expired TTL nodes, as server-internal txns. */
  reapNodes(now: number): void {
    if (this.currentRole !== 'leader') return;
    const tree = this.state.tree;
    const doomed = [...tree.containersToDelete(), ...tree.ttlExpired(now)];
    for (const path of doomed) {
      const node = tree.get(path);
      if (!node || node.children.size > 0) continue;
      this.log.debug({ path }, 'reaping container/TTL node');
      this.commit(null, { sessionId: 0n, cxid: 0, zxid: 0, time: now }, { type: 'delete', path }, null, 0);
    }
  }

  // ------------------------------------------------------------ ensemble roles

  private forwardWrite(following: Following, conn: Connection, f: ForwardedRequest, req: Request | null, receivedAt: number, connectTimeout?: number): void {
    this.log.debug({ sessionId: hex(f.sessionId), cxid: f.cxid, kind: f.kind }, 'forwarding a write to the leader');
    following.forward(conn, f, req, receivedAt, connectTimeout);
  }

  /** Follower: the sessions heard from since the last call, to report to the leader. */
  takeTouched(): bigint[] {
    return this.following?.takeTouched() ?? [];
  }

  /** Leader: decide a write a follower forwarded. Every outcome, errors included, is proposed so the follower can answer. */
  submitForwarded(f: ForwardedRequest): void {
    if (this.currentRole !== 'leader') {
      this.log.warn({ sessionId: hex(f.sessionId), cxid: f.cxid, kind: f.kind, role: this.currentRole }, 'forwarded write reached a member that does not lead; dropped');
      return;
    }
    const txn = decideForwarded(f, this.state, this.config, this.opts.ensemble ? { ensemble: this.opts.ensemble, zxid: this.lastZxid + 1 } : null);
    if (txn) this.commit(null, { sessionId: f.sessionId, cxid: f.cxid, zxid: 0, time: this.opts.now() }, txn, null, 0);
  }

  /** Follower (or a leader catching up): apply a committed txn and answer the local client that asked for it. */
  applyCommitted(bytes: Buffer): void {
    const { header, txn } = decodeTxn(bytes);
    if (header.zxid <= this.state.lastZxid) return; // applied already (a leader's own speculative write)
    const result = this.state.apply(header, txn, this.opts.now());
    this.lastZxid = header.zxid;
    this.out.committedZxid = header.zxid;
    if (result.events.length > 0) this.watches.trigger(result.events, this.deliver);
    if (txn.type === 'closeSession') {
      // Expired or closed by the leader: this member's connection for it goes too.
      const owner = this.owners.get(header.sessionId);
      if (owner) {
        this.owners.delete(header.sessionId);
        owner.closeAfterFlush = true;
        this.out.markDirty(owner);
      }
    }
    const pending = this.following?.answered(header.sessionId, header.cxid, txn.type === 'createSession');
    if (!pending) return;
    this.answerForward(pending, header, txn, result);
    this.advancePipeline(pending.conn);
  }

  /** The forwarded write at the head of this connection's pipeline is answered: run what waited behind it. */
  private advancePipeline(conn: Connection): void {
    const head = conn.pipeline[0];
    if (head?.kind === 'fwd') conn.pipeline.shift();
    while (conn.pipeline.length > 0 && !conn.closed) {
      const next = conn.pipeline[0];
      if (!next || next.kind === 'fwd') return;
      conn.pipeline.shift();
      this.handleRequest(conn, next.header, next.req, next.receivedAt, true);
    }
  }

  private answerForward(pending: PendingForward, header: TxnHeader, txn: Txn, result: ApplyResult): void {
    const { conn, receivedAt } = pending;
    if (conn.closed) return;
    const a = forwardAnswer(pending, header, txn, result, this.state);
    if (a.connect) {
      const id = header.sessionId;
      this.queue(conn, encodeConnectResponse({ protocolVersion: 0, timeOut: a.timeout, sessionId: id, passwd: this.password(id), readOnly: conn.readOnlyByte }), receivedAt);
      return;
    }
    this.reply(conn, { xid: header.cxid, zxid: a.zxid ?? this.lastZxid, err: a.err }, a.body, receivedAt);
    if (a.close) conn.closeAfterFlush = true;
  }

  /**
   * The member changed role (server-role.ts). A new leader takes its next zxid; a new follower
   * forwards through `send`; a member that stops serving drops its clients (they move on).
   */
  setRole(change: RoleChange): void {
    const was = this.currentRole;
    const role = change.role;
    this.currentRole = role;
    // A follower's waits belong to its leader: none survive a change (its clients went when it left service).
    if (change.role === 'follower') {
      if (was !== 'follower' || !this.following) this.following = new Following(change.send);
    } else {
      this.following = null;
    }
    if (change.role === 'leader') {
      // epoch<<32 | 0 names no txn: everything up to it is committed (a new leader commits its whole
      // history first), so output tagged with it must not wait for the epoch's first write.
      this.lastZxid = change.nextZxid - 1;
      this.out.committedZxid = Math.max(this.out.committedZxid, this.lastZxid);
    }
    if (role === 'leader' && was !== 'leader') {
      // Sessions get a full timeout under a new leader, as in ZooKeeper.
      const now = this.opts.now();
      for (const e of [...this.state.sessions.entries()]) this.state.sessions.touch(e.id, now);
    }
    if (role === 'looking' && was !== 'looking') {
      // What is committed goes out first: a reconfig that made this member look for a new
      // leader was answered by applying it, just before (ADR 0011).
      this.out.flush();
      for (const conn of this.connections) conn.destroy();
    }
  }

  /** Replace the state (a stepped-down leader throws away what it applied ahead of the commit point). */
  resetState(state: ReplicatedState): void {
    this.opts.state = state;
    this.lastZxid = state.lastZxid;
    this.out.committedZxid = state.lastZxid;
  }

  /** Stop serving: used on shutdown and on a fatal storage error. */
  stop(): void {
    this.stopped = true;
    for (const conn of this.connections) conn.destroy();
    this.connections.clear();
  }

  isOwner(sessionId: bigint, conn: Connection): boolean {
    return this.owners.get(sessionId) === conn;
  }
}

/** A frame with its 4-byte length in front. */
function prefixed(frame: Buffer): Buffer {
  const out = Buffer.allocUnsafe(4 + frame.length);
  out.writeInt32BE(frame.length, 0);
  frame.copy(out, 4);
  return out;
}

export function hex(id: bigint | number): string {
  return '0x' + (typeof id === 'bigint' ? BigInt.asUintN(64, id) : id).toString(16);
}
