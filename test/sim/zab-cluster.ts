/**
 * A seeded simulation of a ZAB ensemble: each member is the production
 * `Member` (coordinator/member/member.ts: the real ZabPeer and the one Ready
 * loop) over a simulated `Disk`, `Links` and `Clock`, on a simulated
 * network (per-link FIFO like TCP; loss breaks the link and both ends hear
 * `disconnected`; duplicates, clogged links and freely reordered election
 * messages), a simulated disk (a Ready's writes are durable only when its
 * fsync completes; a crash loses what was not), snapshots with log
 * compaction and SNAP sync, crashes, restarts, asymmetric partitions, clock
 * skew (members tick at different rates and pause) and key-value clients:
 * writes through whoever leads, and linearizable reads (a sync through the
 * leader, answered by the member that applies it), session clients (open
 * and close sessions, create and delete ephemerals and persistent nodes),
 * and dynamic reconfiguration (ADR 0011): spare members outside the configuration, and
 * a leader that adds, removes, demotes and promotes members as it runs.
 * Every step checks the safety invariants; `finish()` heals everything and
 * checks durability, liveness and the client history.
 *
 * What members replicate is the production state (sim-replica.ts): every
 * client request is decided by the leader as production decides a forwarded
 * one, into a real txn applied ahead of the commit on the leader's own
 * `ReplicatedState` (as `ZkServer.commit`), proposed as the production
 * codec's bytes, and applied on commit by every member to its own state
 * (the leader skipping what it applied ahead, rebuilding from the commit
 * point when it changes role, as ensemble-member.ts does). Snapshots and
 * SNAP carry the production snapshot codec's bytes. On top of the protocol
 * checks: nothing a closed session asked for is applied (its ephemeral
 * creates are refused: SessionExpired), no ephemeral survives its session's
 * closeSession, snapshots at one zxid hold one state, and after healing
 * every member's state (tree with stats, sessions, ephemerals) is the same.
 */
import type { ZabPeer } from '../../coordinator/zab/peer.ts';
import type { Entry, ZabMessage } from '../../coordinator/zab/messages.ts';
import type { QuorumConfig } from '../../coordinator/zab/quorum.ts';
import { Member, silentMemberLog, type Links, type WireMessage } from '../../coordinator/member/member.ts';
import { SimClock, SimDisk, type SimSnapshot, type Store } from './sim-io.ts';
import { mulberry32 } from '../helpers/seeded-rng.ts';
import { checkKvLinearizable, type KvOp } from './linearizability.ts';
import { ReplicatedState } from '../../coordinator/server/replicated-state.ts';
import { decodeSnapshot, encodeSnapshot } from '../../coordinator/member/snapshot-codec.ts';
import { decodeTxn, reconfigDataOf } from '../../coordinator/protocol/txn-codec.ts';
import type { ForwardedRequest } from '../../coordinator/server/server-role.ts';
import type { Txn, TxnHeader } from '../../coordinator/txn/txn.ts';
import { ErrorCode } from '../../coordinator/protocol/error-codes.ts';
import { Op } from '../../coordinator/protocol/opcodes.ts';
import { kindOf } from '../../coordinator/tree/znode.ts';
import {
  FIRST_CLIENT_SESSION,
  KV_SESSION,
  OPEN_ACL,
  READ_SESSION,
  SIM_TICK_MS,
  decide,
  digestOf,
  dumpState,
  encodeLogged,
  firstDifference,
  forwardedRequest,
  forwardedSession,
  kvSetRequest,
  kvValue,
  nodesOwnedBy,
  orphanedEphemerals,
} from './sim-replica.ts';

export { mulberry32 };


export interface FaultMix {
  /** Voting members. */
  members: number;
  /** Non-voting members (observers), numbered after the voters. */
  observers?: number;
  lossRate: number;
  crashRate: number;
  partitionRate: number;
  maxDelay: number;
  maxFsyncDelay: number;
  writeRate: number;
  /** Linearizable reads per step (each a sync through the leader). */
  readRate?: number;
  /** Snapshot and compact the log every this many applied entries (0: never). */
  snapEvery?: number;
  /** Chance that a message is delivered twice (right after itself: links stay FIFO). */
  dupRate?: number;
  /** Chance per step that one directed link clogs for a while (everything on it waits). */
  clogRate?: number;
  /** How far members' tick rates differ from one tick per step (0..0.9). */
  clockSkew?: number;
  /** Chance per step that a member pauses (no ticks, no processing), like a long GC. */
  pauseRate?: number;
  /** Members outside the initial configuration (numbered after the observers): reconfigs may add them. */
  spares?: number;
  /** Chance per step that the leader proposes a reconfig (when none is pending and the new configuration has a synced quorum). */
  reconfigRate?: number;
  /** Chance per step that a session client asks something (open, close, ephemerals, persistent nodes); default DEFAULT_SESSION_RATE. */
  sessionRate?: number;
}

export class InvariantViolation extends Error {
  override readonly name = 'InvariantViolation';
}

interface Node {
  id: number;
  /** This life's member (null while down), its peer, disk and clock. */
  member: Member | null;
  peer: ZabPeer | null;
  disk: SimDisk | null;
  clock: SimClock | null;
  store: Store;
  /** The cluster's `breaks` when the Ready in hand was taken. */
  breaksAt: number;
  /** Committed entries applied in this life after `base`, in order. */
  applied: Entry[];
  /** The snapshot this life's state last started from (at boot or by SNAP); 0: none. */
  base: number;
  /**
   * The state this member serves: the committed entries applied; a leader's
   * also holds its own proposals, applied ahead of the commit (ZkServer's).
   */
  state: ReplicatedState;
  /** A snapshot taken, to be written once everything in it is committed (the Snapshotter's settle), unless `state` is replaced first. */
  pendingSnap: { zxid: number; data: Buffer; state: ReplicatedState } | null;
  /** Reads answered from state applied ahead: released once that is committed, dropped if the state is replaced (a held reply). */
  heldReads: { op: KvOp; value: string | null; until: number; state: ReplicatedState }[];
  /** What its peer had committed when this member took the leader's role: its history, which clients must not overtake (see `leading`). */
  leaderSince: number;
  sinceSnapshot: number;
  downUntil: number;
  /** Ticks owed: a member's clock runs at `rate` ticks per step. */
  owed: number;
  rate: number;
  pausedUntil: number;
}

const SNAPSHOTS_KEPT = 2;
const KEYS = ['a', 'b', 'c'];

/** The peer's `configOf` for the simulator's reconfig txns, whose text is `reconfig v=<voters> o=<observers>`. */
function simConfigOf(data: Buffer): { voters: number[]; observers: number[]; data: Buffer } | null {
  const text = reconfigDataOf(data);
  if (!text) return null;
  const m = /^reconfig v=([\d,]*) o=([\d,]*)$/.exec(text.toString());
  if (!m) return null;
  const ids = (s: string): number[] => (s === '' ? [] : s.split(',').map(Number));
  return { voters: ids(m[1] as string), observers: ids(m[2] as string), data: text };
}

function reconfigText(voters: readonly number[], observers: readonly number[]): string {
  return `reconfig v=${[...voters].sort((a, b) => a - b).join(',')} o=${[...observers].sort((a, b) => a - b).join(',')}`;
}

/** Chance per step that a session client asks something, unless the mix says. */
const DEFAULT_SESSION_RATE = 0.15;
/** Sessions the session clients keep open at most (each holds a few ephemerals). */
const MAX_OPEN_SESSIONS = 4;
/** Persistent scratch nodes /p0../p{n-1} the session clients create, set and delete. */
const SCRATCH_NODES = 6;

interface InFlight {
  msg: ZabMessage;
  at: number;
  seq: number;
}

export class ZabCluster {
  readonly rng: () => number;
  private readonly nodes: Node[] = [];
  private net: InFlight[] = [];
  private seq = 0;
  private readonly linkLast = new Map<string, number>();
  private readonly blocked = new Set<string>();
  /** Directed links whose connection broke and whose sender has not heard yet: what it sends is lost, as on a dead TCP connection. */
  private readonly broken = new Set<string>();
  /** Links broken so far, and the count at each directed link's last break. */
  private breaks = 0;
  private readonly linkBroke = new Map<string, number>();
  now = 0;
  /** zxid -> bytes of everything any member has applied: one value per zxid, ever. */
  private readonly committed = new Map<number, Buffer>();
  /** Writes acknowledged to a client (key-value and session clients'): zxid -> what it was. */
  readonly acked = new Map<number, string>();
  /** Client history: when each acknowledged write was invoked and answered (steps). */
  private readonly history = new Map<number, { invokedAt: number; ackedAt: number }>();
  /** Proposals a client waits on: acknowledged when the leader that proposed them applies them committed, in the same life. */
  private readonly proposals = new Map<number, { bytes: Buffer; what: string; leader: number; life: ZabPeer; invokedAt: number; kvOp: KvOp | null }>();
  private readonly leaderOfEpoch = new Map<number, number>();
  private writeCounter = 0;
  /** Every member, voters and observers. */
  readonly members: number[];
  /** The initial configuration's voters and observers (reconfigs change what each member has in force). */
  readonly voters: number[];
  readonly observers: number[];
  /** Outside the initial configuration. */
  readonly spares: number[];
  /** Reconfigs proposed, and committed (applied by some member). */
  reconfigsProposed = 0;
  reconfigsCommitted = 0;
  /** The key-value client history, for the linearizability check. */
  private readonly kvOps: KvOp[] = [];
  /** Reads in flight: read id (the sync's cxid) -> the member that answers and its life. */
  private readonly kvReads = new Map<number, { member: number; life: ZabPeer; op: KvOp }>();
  private readCounter = 0;
  /** SNAP syncs delivered, for the scenarios that must exercise them. */
  snapSyncs = 0;
  private readonly initLimit: number;
  private readonly syncLimit: number;
  /** Links clogged until a step: what is sent on them waits (FIFO). */
  private readonly cloggedUntil = new Map<string, number>();
  /** The session clients' own randomness, so what they do does not shift the faults' draws. */
  private readonly crng: () => number;
  /** Sessions the session clients opened (asked for), and those whose closeSession some member applied. */
  private readonly clientSessions: bigint[] = [];
  readonly closedSessions = new Set<bigint>();
  /**
   * Sessions their client gave up on: a leader answered SessionExpired (its createSession was lost with
   * a leader, or it was closed). As a ZooKeeper client would, it opens a new one instead.
   */
  private readonly abandoned = new Set<bigint>();
  private nextSession = FIRST_CLIENT_SESSION;
  private cxid = 0;
  /** The first snapshot written at each zxid, to compare with any other taken there. */
  private readonly snapshotsAt = new Map<number, Buffer>();
  /** What the session clients got done, for the tests that must have exercised it. */
  readonly sessionStats = { opened: 0, closed: 0, ephemeralsCreated: 0, refusedExpired: 0, closedWithEphemerals: 0 };

  constructor(
    seed: number,
    readonly mix: FaultMix,
  ) {
    this.rng = mulberry32(seed);
    this.crng = mulberry32(seed ^ 0x5e55);
    this.voters = Array.from({ length: mix.members }, (_, i) => i + 1);
    this.observers = Array.from({ length: mix.observers ?? 0 }, (_, i) => mix.members + i + 1);
    this.spares = Array.from({ length: mix.spares ?? 0 }, (_, i) => mix.members + (mix.observers ?? 0) + i + 1);
    this.members = [...this.voters, ...this.observers, ...this.spares];
    const skew = Math.min(0.9, mix.clockSkew ?? 0);
    // Syncing takes about five one-way trips, each a delay plus an fsync; a
    // member whose clock runs fast gives up sooner. initLimit must cover it,
    // as an operator sets it to: a sim that cannot elect proves nothing.
    this.initLimit = Math.max(20, Math.ceil(5 * (mix.maxDelay + mix.maxFsyncDelay + 2) * (1 + skew)));
    // Likewise syncLimit must outlast a ping's round trip, which is what the
    // leader waits for (a follower only for the next ping). Here a message
    // leaves once the Ready carrying it is durable, which may first wait for
    // the Ready before it: up to two fsync delays at each end, a delay each
    // way, and a tick. `maxDelay + 3` covered only the follower's side, so
    // even fault-free ensembles lost established leaders (a pong arriving 9
    // steps after the first ping, syncLimit 8): a configuration no operator
    // would choose, and one that helped keep the harsher mixes electing
    // without end after the faults stopped (issue 12).
    const oneWay = mix.maxDelay + 1 + 2 * mix.maxFsyncDelay;
    this.syncLimit = Math.max(8, Math.ceil((2 * oneWay + 2) * (1 + skew)));
    for (const id of this.members) {
      const store: Store = { acceptedEpoch: 0, currentEpoch: 0, log: [], snapshots: [] };
      const rate = 1 + skew * (this.rng() * 2 - 1);
      const n: Node = {
        id,
        member: null,
        peer: null,
        disk: null,
        clock: null,
        store,
        breaksAt: 0,
        applied: [],
        base: 0,
        state: ReplicatedState.empty(SIM_TICK_MS),
        pendingSnap: null,
        heldReads: [],
        leaderSince: 0,
        sinceSnapshot: 0,
        downUntil: 0,
        owed: 0,
        rate,
        pausedUntil: 0,
      };
      this.nodes.push(n);
      this.boot(n);
    }
  }

  /** Starts a life from the disk: the newest snapshot, then the log above it. */
  private boot(n: Node): void {
    const store = n.store;
    const snap = store.snapshots[store.snapshots.length - 1];
    const base = snap?.zxid ?? 0;
    const now = (): number => this.now;
    const disk = new SimDisk(
      store,
      now,
      () => Math.floor(this.rng() * (this.mix.maxFsyncDelay + 1)),
      () => (n.breaksAt = this.breaks),
    );
    const clock = new SimClock(now);
    const links: Links = { send: (m) => this.sendFrom(n, m) };
    const member = new Member({
      zab: {
        id: n.id,
        members: store.config?.voters ?? this.voters,
        observers: store.config?.observers ?? this.observers,
        initLimit: this.initLimit,
        syncLimit: this.syncLimit,
        configZxid: store.config?.zxid ?? 0,
        configData: store.config?.data ?? null,
        configOf: simConfigOf,
      },
      persisted: { acceptedEpoch: store.acceptedEpoch, currentEpoch: store.currentEpoch, snapshotZxid: base, log: store.log.filter((e) => e.zxid > base) },
      disk,
      links,
      clock,
      tickMs: 1,
      log: silentMemberLog,
      // The harness runs the loop once per step, after that step's messages and ticks.
      pumpOnInput: false,
      replica: {
        apply: (r) => {
          if (r.persist.snapshot !== null) this.installSnapshot(n, r.persist.snapshot);
          for (const e of r.committed) this.apply(n, e);
        },
        afterAdvance: (r) => {
          // The configuration in force is made durable as it changes (the member's zoo.cfg.dynamic file).
          const c = n.peer?.config;
          if (c && c !== store.config && c.zxid > 0) store.config = c;
          n.sinceSnapshot += r.committed.length;
          const every = this.mix.snapEvery ?? 0;
          if (every > 0 && n.sinceSnapshot >= every && !n.pendingSnap && n.state.lastZxid > 0) {
            n.sinceSnapshot = 0;
            n.pendingSnap = { zxid: n.state.lastZxid, data: encodeSnapshot(n.state), state: n.state };
          }
          this.settleSnapshot(n);
        },
        // As ensemble-member.ts: state applied ahead of the commit point is rebuilt from what is committed.
        prepareRole: (was) => {
          if (was === 'leader' || n.state.lastZxid > member.peer.committed) this.rebuild(n, member);
        },
        roleChanged: (role) => {
          if (role === 'leader') n.leaderSince = member.peer.committed;
        },
      },
      // An invariant broken inside the loop (or by the peer) fails the run, as it is.
      onFailed: (err) => {
        throw err;
      },
    });
    n.member = member;
    n.peer = member.peer;
    n.disk = disk;
    n.clock = clock;
    member.start();
    n.applied = [];
    n.base = 0;
    n.state = ReplicatedState.empty(SIM_TICK_MS);
    n.pendingSnap = null;
    n.heldReads = [];
    n.sinceSnapshot = 0;
    if (snap) this.installSnapshot(n, snap);
  }

  /** The member's state becomes the snapshot's (production's codec); committed entries after it follow. */
  private installSnapshot(n: Node, snap: SimSnapshot): void {
    const state = decodeSnapshot(snap.data, SIM_TICK_MS, this.now);
    if (state.lastZxid !== snap.zxid) throw new InvariantViolation(`member ${n.id}: snapshot named ${snap.zxid} holds state up to ${state.lastZxid}`);
    n.state = state;
    n.base = snap.zxid;
    n.applied = [];
    n.pendingSnap = null;
    n.heldReads = [];
  }

  /**
   * As ensemble-member.ts's committedState on a role change: the log's base
   * snapshot from disk, then the committed entries above it, replace the
   * state (a leader's proposals applied ahead go; replies held on them too).
   */
  private rebuild(n: Node, member: Member): void {
    const peer = member.peer;
    const base = peer.snapshotZxid;
    const entries = peer.committedEntries();
    let state = ReplicatedState.empty(SIM_TICK_MS);
    if (base > 0) {
      const bytes = n.disk?.readSnapshot(base) ?? null;
      if (!bytes) throw new InvariantViolation(`member ${n.id}: the log's base snapshot ${base} is missing from its disk`);
      state = decodeSnapshot(bytes, SIM_TICK_MS, this.now);
    }
    for (const e of entries) {
      const { header, txn } = decodeTxn(e.data);
      if (header.zxid > state.lastZxid) this.applyTxn(n, state, header, txn);
    }
    n.state = state;
    n.pendingSnap = null;
    n.heldReads = [];
  }

  /**
   * Writes the snapshot in hand once a quorum committed everything in it (a
   * leader's state runs ahead), then compacts the log and the disk; dropped
   * if the state was replaced meanwhile (the Snapshotter's settle). Runs
   * between Readies (the member's `afterAdvance`), as compaction must.
   */
  private settleSnapshot(n: Node): void {
    const p = n.pendingSnap;
    const member = n.member;
    if (!p || !member) return;
    if (p.state !== n.state) {
      n.pendingSnap = null;
      return;
    }
    const peer = member.peer;
    if (peer.committed < p.zxid) return;
    n.pendingSnap = null;
    const store = n.store;
    const newest = store.snapshots[store.snapshots.length - 1];
    if (newest && newest.zxid >= p.zxid) return;
    this.noteSnapshot(n, p.zxid, p.data);
    store.snapshots.push({ zxid: p.zxid, data: p.data });
    if (store.snapshots.length > SNAPSHOTS_KEPT) store.snapshots.shift();
    // The oldest kept snapshot is the log's base: it must stay while the peer may name it in a SNAP.
    const oldest = (store.snapshots[0] as SimSnapshot).zxid;
    if (oldest > peer.snapshotZxid && oldest <= peer.committed) member.compact(oldest);
    store.log = store.log.filter((e) => e.zxid > peer.snapshotZxid);
  }

  /** Committed state at one zxid is one state: any two snapshots written there must hold the same. */
  private noteSnapshot(n: Node, zxid: number, data: Buffer): void {
    const first = this.snapshotsAt.get(zxid);
    if (!first) {
      this.snapshotsAt.set(zxid, data);
      return;
    }
    // Children are serialized in the order they were made, which differs between a tree restored and one applied live.
    if (first.equals(data)) return;
    const a = dumpState(decodeSnapshot(first, SIM_TICK_MS, 0));
    const b = dumpState(decodeSnapshot(data, SIM_TICK_MS, 0));
    if (digestOf(a) !== digestOf(b)) throw new InvariantViolation(`member ${n.id}'s snapshot at ${zxid} differs from an earlier one there: ${firstDifference(a, b)}`);
  }

  /** Member `n`'s `Links.send`: onto the simulated network, once the Ready carrying it is durable. */
  private sendFrom(n: Node, m: WireMessage): void {
    // The member drops what was meant for a connection that broke after its Ready was taken (it
    // heard); this checks that nothing crosses to the next connection. Checked here, as only a
    // rare seed shows it crossing in a member's log (300640).
    const link = `${m.from}>${m.to}`;
    if (m.kind !== 'vote' && !this.broken.has(link) && (this.linkBroke.get(link) ?? 0) > n.breaksAt) {
      throw new InvariantViolation(`member ${n.id} sent ${m.kind} to ${m.to} on a connection opened after the Ready carrying it was taken`);
    }
    this.send(m);
  }

  private node(id: number): Node {
    return this.nodes[id - 1] as Node;
  }

  private chance(p: number): boolean {
    return this.rng() < p;
  }

  private send(msg: ZabMessage, extraDelay = 0): void {
    const link = `${msg.from}>${msg.to}`;
    if (msg.kind !== 'vote' && msg.kind !== 'disconnected' && this.broken.has(link)) return;
    const delay = 1 + Math.floor(this.rng() * (this.mix.maxDelay + 1)) + extraDelay;
    if (msg.kind === 'vote') {
      // Election messages are independent: any order, any delay.
      this.net.push({ msg, at: this.now + delay + Math.floor(this.rng() * (2 * this.mix.maxDelay + 1)), seq: this.seq++ });
      return;
    }
    const at = Math.max(this.now + delay, this.linkLast.get(link) ?? 0, this.cloggedUntil.get(link) ?? 0);
    this.linkLast.set(link, at);
    this.net.push({ msg, at, seq: this.seq++ });
    // A duplicate right behind the original keeps the link FIFO: the peer must shrug it off.
    if (msg.kind !== 'disconnected' && this.chance(this.mix.dupRate ?? 0)) this.net.push({ msg, at, seq: this.seq++ });
  }

  /** A broken link: both ends find out, a little later. */
  private breakLink(a: number, b: number): void {
    this.net = this.net.filter((f) => !((f.msg.from === a && f.msg.to === b) || (f.msg.from === b && f.msg.to === a)) || f.msg.kind === 'vote');
    this.broken.add(`${a}>${b}`);
    this.broken.add(`${b}>${a}`);
    this.linkBroke.set(`${a}>${b}`, ++this.breaks);
    this.linkBroke.set(`${b}>${a}`, this.breaks);
    this.send({ kind: 'disconnected', from: a, to: b }, 1);
    this.send({ kind: 'disconnected', from: b, to: a }, 1);
  }

  step(faults: boolean, writes = true): void {
    this.now++;
    // Deliver what is due, per link in order.
    const due = this.net.filter((f) => f.at <= this.now).sort((x, y) => x.at - y.at || x.seq - y.seq);
    this.net = this.net.filter((f) => f.at > this.now);
    for (const f of due) {
      const m = f.msg;
      const target = this.node(m.to);
      if (!target.member) continue;
      const isVote = m.kind === 'vote';
      // Sent before its connection broke: it died with that connection.
      if (!isVote && m.kind !== 'disconnected' && this.broken.has(`${m.from}>${m.to}`)) continue;
      if (target.pausedUntil > this.now) {
        // A paused process reads nothing; the bytes wait in its socket, in order.
        this.net.push({ ...f, at: target.pausedUntil });
        continue;
      }
      if (m.kind !== 'disconnected' && this.blocked.has(`${m.from}>${m.to}`)) {
        if (!isVote) this.breakLink(m.from, m.to);
        continue;
      }
      if (faults && m.kind !== 'disconnected' && this.chance(this.mix.lossRate)) {
        if (!isVote) this.breakLink(m.from, m.to);
        continue;
      }
      if (isVote && faults && this.chance(this.mix.lossRate)) this.send(m); // election messages may duplicate
      // Hearing of the break, the receiver's next messages go over a new connection.
      if (m.kind === 'disconnected') {
        this.broken.delete(`${m.to}>${m.from}`);
        target.member.disconnected(m.from);
        continue;
      }
      if (m.kind === 'sync' && m.snapshot !== null) this.snapSyncs++;
      target.member.receive(m);
    }
    for (const n of this.nodes) {
      if (n.pausedUntil > this.now) continue;
      // Skewed clocks: a member may tick twice in a step, or not at all.
      n.owed += n.rate;
      while (n.owed >= 1) {
        n.owed -= 1;
        n.clock?.fire();
      }
    }
    for (const n of this.nodes) this.host(n);
    if (faults) this.injectFaults();
    if (writes) {
      this.clientWrites();
      this.clientReads();
      this.clientSessionOps();
      if ((this.mix.reconfigRate ?? 0) > 0) this.clientReconfig();
    }
    this.checkLeaders();
  }

  /**
   * The member's turn in a step: an fsync that is due completes (its Ready
   * goes on: send, apply, advance), then the loop takes what the step's
   * messages and ticks produced. A paused member does neither.
   */
  private host(n: Node): void {
    if (!n.member || n.pausedUntil > this.now) return;
    n.disk?.complete();
    n.member.pump();
  }

  /** The last committed zxid this life applied (its snapshot's, before any entry). */
  private lastApplied(n: Node): number {
    return n.applied[n.applied.length - 1]?.zxid ?? n.base;
  }

  /** A committed entry, as the member's Replica applies it. */
  private apply(n: Node, e: Entry): void {
    const prev = this.lastApplied(n);
    if (e.zxid <= prev) throw new InvariantViolation(`member ${n.id} applied ${e.zxid} after ${prev}`);
    const seen = this.committed.get(e.zxid);
    if (seen !== undefined && !seen.equals(e.data)) throw new InvariantViolation(`zxid ${e.zxid} committed with two different txns (member ${n.id})`);
    if (seen === undefined) this.committed.set(e.zxid, e.data);
    n.applied.push(e);
    const { header, txn } = decodeTxn(e.data);
    // A leader's own proposals are applied already (ahead of the commit): skipped, as production's applyCommitted does.
    if (e.zxid > n.state.lastZxid) this.applyTxn(n, n.state, header, txn);
    if (seen === undefined && txn.type === 'reconfig') this.reconfigsCommitted++;
    if (seen === undefined && txn.type === 'closeSession') {
      this.closedSessions.add(header.sessionId);
      this.sessionStats.closed++;
      if (txn.paths.length > 0) this.sessionStats.closedWithEphemerals++;
    }
    const p = this.proposals.get(e.zxid);
    if (p && p.leader === n.id && p.life === n.peer && p.bytes.equals(e.data)) {
      this.acked.set(e.zxid, p.what);
      this.history.set(e.zxid, { invokedAt: p.invokedAt, ackedAt: this.now });
      this.proposals.delete(e.zxid);
      if (p.kvOp) p.kvOp.respondedAt = this.now;
    }
    if (header.sessionId === READ_SESSION && txn.type === 'error') {
      const read = this.kvReads.get(header.cxid);
      if (read && read.member === n.id && read.life === n.peer) {
        this.kvReads.delete(header.cxid);
        const value = kvValue(n.state, read.op.key);
        // A leader answers from state that may hold its later proposals too: the reply waits for them (held).
        if (n.state.lastZxid > e.zxid) n.heldReads.push({ op: read.op, value, until: n.state.lastZxid, state: n.state });
        else this.answerRead(read.op, value);
      }
    }
    if (n.heldReads.length > 0) {
      n.heldReads = n.heldReads.filter((h) => {
        if (h.state !== n.state) return false;
        if (e.zxid < h.until) return true;
        this.answerRead(h.op, h.value);
        return false;
      });
    }
  }

  private answerRead(op: KvOp, value: string | null): void {
    op.value = value;
    op.respondedAt = this.now;
  }

  /**
   * Applies a txn to a member's state (committed, ahead on a leader, or in a
   * rebuild), checking the session rules on the way: an ephemeral's session
   * is alive when it is created (the leader refuses a closed session's), and
   * none is left once its session's closeSession is applied.
   */
  private applyTxn(n: Node, state: ReplicatedState, header: TxnHeader, txn: Txn): void {
    // ZooKeeper: a closed session is expired for good. A txn a client session made (an error txn answers
    // it, a createSession opens it) needs it alive, and applies in the order its leader decided it in.
    const sid = header.sessionId;
    if (sid !== 0n && sid !== READ_SESSION && txn.type !== 'error' && txn.type !== 'createSession' && !state.sessions.has(sid)) {
      throw new InvariantViolation(`member ${n.id} applies zxid ${header.zxid}: a ${txn.type} of session ${sid}, which it does not hold (closed or never opened)`);
    }
    if (txn.type === 'create' && kindOf(txn.ephemeralOwner) === 'ephemeral' && !state.sessions.has(txn.ephemeralOwner)) {
      throw new InvariantViolation(`member ${n.id} applies zxid ${header.zxid}: ephemeral ${txn.path} of session ${txn.ephemeralOwner}, which it does not hold (closed or never opened)`);
    }
    state.apply(header, txn, this.now);
    if (txn.type === 'closeSession') {
      const left = nodesOwnedBy(state.tree, header.sessionId);
      if (left.length > 0 || state.tree.ephemeralsOf(header.sessionId).size > 0) {
        throw new InvariantViolation(`member ${n.id} applied session ${header.sessionId}'s closeSession (zxid ${header.zxid}), yet holds its ephemerals ${left.join(',')}`);
      }
    }
  }

  /**
   * The member whose peer leads, established, and whose server took the
   * leader's role (production decides writes only then), or null.
   *
   * Not before it applied the history it committed on establishing: the
   * member takes the leader's role after the Ready in hand, one Ready before
   * the one carrying those commits. Production serves no client in between
   * (that Ready has no disk work, so the loop reaches it in the same
   * macrotask, on microtasks); the simulated disk delays even an empty
   * Ready, so the sim's clients wait for it explicitly. A write decided in
   * that gap would be decided on a stale tree, and the history skipped as
   * "applied ahead" once its zxid passed them (seen: seeds 202603 and
   * reconfig 3 before this gate).
   */
  private leading(): Node | null {
    return this.nodes.find((n) => this.decides(n)) ?? null;
  }

  /** Whether member `n` decides writes now (see `leading`); a leader cut off may still, until it hears it lost its quorum. */
  private decides(n: Node): boolean {
    const p = n.peer;
    return p !== null && p.state === 'leading' && p.established && n.member?.role === 'leader' && this.lastApplied(n) >= n.leaderSince;
  }

  /**
   * What production's ZkServer.commit does with a request a follower
   * forwarded: the leader decides it against its state, applies it there
   * ahead of the commit, and proposes the txn's bytes under the zxid its
   * peer will give it.
   */
  private proposeTxn(n: Node, header: Omit<TxnHeader, 'zxid' | 'time'>, txn: Txn): { zxid: number; bytes: Buffer } {
    const member = n.member as Member;
    const zxid = member.peer.nextZxid;
    const full: TxnHeader = { ...header, zxid, time: this.now };
    this.applyTxn(n, n.state, full, txn);
    const bytes = encodeLogged(full, txn);
    const got = member.propose(bytes);
    if (got !== zxid) throw new InvariantViolation(`leader ${n.id} expected zxid ${zxid} for its proposal, its peer gave ${got}`);
    return { zxid, bytes };
  }

  private proposeRequest(n: Node, f: ForwardedRequest): { zxid: number; bytes: Buffer; txn: Txn } {
    const txn = decide(n.state, f);
    return { ...this.proposeTxn(n, { sessionId: f.sessionId, cxid: f.cxid }, txn), txn };
  }

  /** A key-value client's write through leader `n` (its session opened again first, if this leader's state lacks it). */
  private proposeKvSet(n: Node, key: string, value: string, kvOp: KvOp | null): number {
    const sessions = n.state.sessions;
    if (!sessions.has(KV_SESSION) || sessions.isClosing(KV_SESSION)) this.proposeRequest(n, forwardedSession('createSession', KV_SESSION, 0, 30_000));
    const r = this.proposeRequest(n, forwardedRequest(KV_SESSION, ++this.cxid, kvSetRequest(n.state, key, value)));
    if (r.txn.type !== 'create' && r.txn.type !== 'setData') throw new InvariantViolation(`leader ${n.id} refused key-value write ${key}=${value}: ${JSON.stringify(r.txn)}`);
    this.proposals.set(r.zxid, { bytes: r.bytes, what: `set ${key} ${value}`, leader: n.id, life: n.peer as ZabPeer, invokedAt: this.now, kvOp });
    return r.zxid;
  }

  private checkLeaders(): void {
    for (const n of this.nodes) {
      const p = n.peer;
      if (!p || p.state !== 'leading' || !p.established) continue;
      const other = this.leaderOfEpoch.get(p.epoch);
      if (other !== undefined && other !== n.id) throw new InvariantViolation(`two leaders established in epoch ${p.epoch}: ${other} and ${n.id}`);
      this.leaderOfEpoch.set(p.epoch, n.id);
    }
  }

  private injectFaults(): void {
    const alive = this.nodes.filter((n) => n.member);
    if (this.chance(this.mix.crashRate) && alive.length > 0) {
      const victim = alive[Math.floor(this.rng() * alive.length)] as Node;
      this.crash(victim);
    }
    for (const n of this.nodes) {
      if (!n.member && this.now >= n.downUntil) this.restart(n);
    }
    if (this.chance(this.mix.pauseRate ?? 0)) {
      const n = this.node(this.members[Math.floor(this.rng() * this.members.length)] as number);
      // Never shortened: messages held for the pause must stay ahead of later ones.
      n.pausedUntil = Math.max(n.pausedUntil, this.now + 1 + Math.floor(this.rng() * 15));
    }
    if (this.chance(this.mix.clogRate ?? 0)) {
      const a = this.members[Math.floor(this.rng() * this.members.length)] as number;
      const b = this.members[Math.floor(this.rng() * this.members.length)] as number;
      if (a !== b) this.cloggedUntil.set(`${a}>${b}`, this.now + 2 + Math.floor(this.rng() * 12));
    }
    if (this.chance(this.mix.partitionRate)) {
      const a = this.members[Math.floor(this.rng() * this.members.length)] as number;
      const b = this.members[Math.floor(this.rng() * this.members.length)] as number;
      if (a !== b) {
        // Asymmetric: only a -> b is cut, sometimes both ways.
        this.blocked.add(`${a}>${b}`);
        if (this.chance(0.5)) this.blocked.add(`${b}>${a}`);
      }
    }
    if (this.blocked.size > 0 && this.chance(this.mix.partitionRate * 2)) this.blocked.clear();
  }

  crash(n: Node, downFor = 5 + Math.floor(this.rng() * 30)): void {
    n.member = null;
    n.peer = null;
    n.disk = null; // un-fsynced writes are lost
    n.clock = null;
    n.applied = [];
    n.base = 0;
    n.state = ReplicatedState.empty(SIM_TICK_MS);
    n.pendingSnap = null;
    n.heldReads = [];
    n.pausedUntil = 0;
    n.downUntil = this.now + downFor;
    for (const other of this.members) if (other !== n.id) this.breakLink(n.id, other);
  }

  /** Scenarios: take member `id` down for `steps` steps (it comes back in a faulty step, or in `finish`). */
  crashMember(id: number, steps: number): void {
    this.crash(this.node(id), steps);
  }

  /** Scenarios: cut the links between members `a` and `b`, both ways, until `healLinks()` (each end hears of it at its next message). */
  cutLink(a: number, b: number): void {
    this.blocked.add(`${a}>${b}`);
    this.blocked.add(`${b}>${a}`);
  }

  healLinks(): void {
    this.blocked.clear();
  }

  restart(n: Node): void {
    for (const other of this.members) this.broken.delete(`${n.id}>${other}`);
    this.boot(n);
  }

  private clientWrites(): void {
    if (!this.chance(this.mix.writeRate)) return;
    // Through every member that thinks it leads: one deposed but not yet told proposes what can never commit.
    for (const n of this.nodes) {
      if (!this.decides(n)) continue;
      const key = KEYS[Math.floor(this.rng() * KEYS.length)] as string;
      const value = `w${this.writeCounter++}`;
      const op: KvOp = { kind: 'set', key, value, invokedAt: this.now, respondedAt: Infinity };
      this.kvOps.push(op);
      this.proposeKvSet(n, key, value, op);
    }
  }

  /**
   * A linearizable read: a client asks a serving member, which sends a sync
   * through its leader (here: proposed at once, as if forwarded) and answers
   * from its own state when it applies that sync.
   */
  private clientReads(): void {
    if (!this.chance(this.mix.readRate ?? 0)) return;
    const n = this.node(this.members[Math.floor(this.rng() * this.members.length)] as number);
    const p = n.peer;
    if (!p || !p.isServing || n.pausedUntil > this.now) return;
    const leader = this.node(p.leader);
    if (leader !== this.leading()) return;
    const id = this.readCounter++;
    this.proposeRequest(leader, forwardedSession('sync', READ_SESSION, id));
    const key = KEYS[Math.floor(this.rng() * KEYS.length)] as string;
    const op: KvOp = { kind: 'get', key, value: null, invokedAt: this.now, respondedAt: Infinity };
    this.kvOps.push(op);
    this.kvReads.set(id, { member: n.id, life: p, op });
  }

  /**
   * Session clients, through whoever leads (as forwarded by the member they
   * are connected to): open and close sessions, create ephemerals (plain and
   * sequential) under them, now and then under a session already closed
   * (the leader must refuse: SessionExpired), delete ephemerals, and
   * create, set and delete persistent nodes. Acknowledged like writes.
   */
  private clientSessionOps(): void {
    const r = this.crng;
    if (r() >= (this.mix.sessionRate ?? DEFAULT_SESSION_RATE)) return;
    // Whichever member a client reaches forwards to the leader it knows: a deposed one too, now and then.
    const deciding = this.nodes.filter((m) => this.decides(m));
    const n = deciding[Math.floor(r() * deciding.length)];
    if (!n) return;
    const state = n.state;
    const open = this.clientSessions.filter((id) => !this.closedSessions.has(id) && !this.abandoned.has(id));
    const pick = (ids: readonly bigint[]): bigint | undefined => ids[Math.floor(r() * ids.length)];
    const roll = r();
    let f: ForwardedRequest;
    let what: string;
    if (roll < 0.15 || open.length === 0) {
      if (open.length >= MAX_OPEN_SESSIONS) return;
      const id = this.nextSession++;
      this.clientSessions.push(id);
      f = forwardedSession('createSession', id, 0, 10_000);
      what = `createSession ${id}`;
    } else if (roll < 0.27) {
      const id = pick(open) as bigint;
      f = forwardedSession('closeSession', id, ++this.cxid);
      what = `closeSession ${id}`;
    } else if (roll < 0.6) {
      // Mostly a live session; sometimes one that is closed, whose create must be refused.
      const closed = this.clientSessions.filter((id) => this.closedSessions.has(id));
      const id = (closed.length > 0 && r() < 0.2 ? pick(closed) : pick(open)) as bigint;
      const sequential = r() < 0.4;
      const path = sequential ? `/q-` : `/e${id.toString(16)}-${Math.floor(r() * 3)}`;
      f = forwardedRequest(id, ++this.cxid, { op: Op.create, path, data: Buffer.from(`s${id}`), acl: OPEN_ACL, flags: sequential ? 3 : 1 });
      what = `create ephemeral ${path} (session ${id})`;
    } else if (roll < 0.72) {
      const id = pick(open) as bigint;
      const mine = [...state.tree.ephemeralsOf(id)];
      const path = mine[Math.floor(r() * mine.length)] ?? `/e${id.toString(16)}-0`;
      f = forwardedRequest(id, ++this.cxid, { op: Op.delete, path, version: -1 });
      what = `delete ${path} (session ${id})`;
    } else {
      const id = pick(open) as bigint;
      const path = `/p${Math.floor(r() * SCRATCH_NODES)}`;
      const kind = r();
      const data = Buffer.from(`d${this.cxid}`);
      if (kind < 0.4) f = forwardedRequest(id, ++this.cxid, { op: Op.create, path, data, acl: OPEN_ACL, flags: 0 });
      else if (kind < 0.7) f = forwardedRequest(id, ++this.cxid, { op: Op.setData, path, data, version: -1 });
      else f = forwardedRequest(id, ++this.cxid, { op: Op.delete, path, version: -1 });
      what = `${kind < 0.4 ? 'create' : kind < 0.7 ? 'setData' : 'delete'} ${path} (session ${id})`;
    }
    this.submitSessionRequest(n, f, what);
  }

  /** A session client's request through leader `n`, acknowledged like a write; the leader's decision. */
  private submitSessionRequest(n: Node, f: ForwardedRequest, what: string): Txn {
    const { zxid, bytes, txn } = this.proposeRequest(n, f);
    if (txn.type === 'createSession') this.sessionStats.opened++;
    if (txn.type === 'create' && kindOf(txn.ephemeralOwner) === 'ephemeral') this.sessionStats.ephemeralsCreated++;
    if (f.kind === 'request' && txn.type === 'error' && txn.err === ErrorCode.SESSION_EXPIRED) {
      this.sessionStats.refusedExpired++;
      this.abandoned.add(f.sessionId);
    }
    // A close the leader answers without a closeSession: it holds no such session (lost, or closed already).
    if (f.kind === 'closeSession' && txn.type === 'error') this.abandoned.add(f.sessionId);
    // A closed session's requests must be refused (SessionExpired): `applyTxn` checks every txn that gets applied.
    // Not here: a leader deposed but not yet told may not know of the close, and what it decides never commits.
    this.proposals.set(zxid, { bytes, what, leader: n.id, life: n.peer as ZabPeer, invokedAt: this.now, kvOp: null });
    return txn;
  }

  /** Scenarios: a session client opens a session through the leader; its id, or null when nobody leads. */
  openSession(): bigint | null {
    const n = this.leading();
    if (!n) return null;
    const id = this.nextSession++;
    this.clientSessions.push(id);
    this.submitSessionRequest(n, forwardedSession('createSession', id, 0, 10_000), `createSession ${id}`);
    return id;
  }

  /** Scenarios: session `id` creates ephemeral `path`; what the leader decided ('create', or the error's code), or null when nobody leads. */
  createEphemeral(id: bigint, path: string): 'create' | number | null {
    const n = this.leading();
    if (!n) return null;
    const txn = this.submitSessionRequest(n, forwardedRequest(id, ++this.cxid, { op: Op.create, path, data: null, acl: OPEN_ACL, flags: 1 }), `create ephemeral ${path} (session ${id})`);
    return txn.type === 'create' ? 'create' : txn.type === 'error' ? txn.err : null;
  }

  /** Scenarios: session `id` closes; false when nobody leads. */
  closeSession(id: bigint): boolean {
    const n = this.leading();
    if (!n) return false;
    this.submitSessionRequest(n, forwardedSession('closeSession', id, ++this.cxid), `closeSession ${id}`);
    return true;
  }

  /** Scenarios: whether member `id`'s tree holds `path` (null while it is down). */
  hasNode(id: number, path: string): boolean | null {
    const n = this.node(id);
    return n.member ? n.state.tree.get(path) !== undefined : null;
  }

  /** Scenarios: whether member `id`'s session table holds session `session` (null while it is down). */
  hasSession(id: number, session: bigint): boolean | null {
    const n = this.node(id);
    return n.member ? n.state.sessions.has(session) : null;
  }

  /**
   * An operator's reconfig, through whoever leads: add a member that does not
   * vote (an observer, a spare, one removed earlier), remove a voter, or
   * demote one to observer — the leader itself too. Refused, as ZooKeeper
   * refuses it, while another is pending (ReconfigInProgress) or when the
   * new configuration has no synced quorum (NewConfigNoQuorum).
   */
  private clientReconfig(): void {
    if (!this.chance(this.mix.reconfigRate ?? 0)) return;
    const leader = this.nodes.find((n) => n.peer?.state === 'leading' && n.peer.established)?.peer;
    if (!leader || leader.pendingConfig) return;
    const voters = new Set(leader.config.voters);
    const observers = new Set(leader.config.observers);
    const others = this.members.filter((id) => !voters.has(id));
    const roll = this.rng();
    if (roll < 0.45 && others.length > 0 && voters.size < 5) {
      const id = others[Math.floor(this.rng() * others.length)] as number;
      voters.add(id);
      observers.delete(id);
    } else if (voters.size > 2) {
      const list = [...voters];
      const id = list[Math.floor(this.rng() * list.length)] as number;
      voters.delete(id);
      if (roll < 0.75) observers.add(id);
    } else {
      return;
    }
    this.reconfigure([...voters], [...observers]);
  }

  /** Scenarios too: proposes a configuration through the leader; false when ZooKeeper would refuse it (or nobody leads). */
  reconfigure(voters: readonly number[], observers: readonly number[]): boolean {
    const n = this.leading();
    const leader = n?.peer;
    if (!n || !leader || leader.pendingConfig || !leader.isQuorumSynced(voters)) return false;
    // An operator's reconfig decided (the production txn record; prep-reconfig's checks are the two above).
    this.proposeTxn(n, { sessionId: 0n, cxid: 0 }, { type: 'reconfig', data: Buffer.from(reconfigText(voters, observers)) });
    this.reconfigsProposed++;
    return true;
  }

  /** The configuration member `id` has in force (its voters), or null while it is down. */
  votersOf(id: number): readonly number[] | null {
    return this.node(id).peer?.config.voters ?? null;
  }

  /** Wing–Gong over the key-value history of this run. */
  checkKvHistory(): void {
    const r = checkKvLinearizable(this.kvOps);
    if (!r.ok) throw new InvariantViolation(`client history not linearizable on key ${r.key}: ${r.reason}`);
  }

  /** Reads answered, for tests that must have exercised them. */
  get readsAnswered(): number {
    return this.kvOps.filter((o) => o.kind === 'get' && o.respondedAt !== Infinity).length;
  }

  /** Heal, restart everyone, run fault-free until the ensemble settles, then check durability and agreement. */
  finish(budget: number): void {
    this.blocked.clear();
    this.cloggedUntil.clear();
    for (const n of this.nodes) if (!n.member) this.restart(n);
    let settled = -1;
    for (let i = 0; i < budget; i++) {
      this.step(false, false);
      if (this.settled()) {
        settled = i;
        break;
      }
    }
    if (settled < 0) throw new InvariantViolation(`no stable leader with every member serving within ${budget} fault-free steps`);
    // One more write must commit everywhere.
    const before = this.acked.size;
    for (let i = 0; i < budget && this.acked.size === before; i++) {
      this.writeCounter++;
      const n = this.leading();
      if (n) this.proposeKvSet(n, 'final', `f${this.writeCounter}`, null);
      for (let k = 0; k < 5; k++) this.step(false, false);
    }
    if (this.acked.size === before) throw new InvariantViolation('the healed ensemble did not commit a new write');
    // Quiesce: no new writes until every member has applied what the leader committed.
    for (let k = 0; k < budget && !this.quiescent(); k++) this.step(false, false);
    if (!this.quiescent()) throw new InvariantViolation('members did not catch up with the leader after healing');
    const leaderConfig = this.nodes.find((n) => n.peer?.state === 'leading')?.peer?.config;
    for (const n of this.nodes) {
      const c = n.peer?.config as QuorumConfig;
      if (c.zxid !== leaderConfig?.zxid) throw new InvariantViolation(`member ${n.id} has configuration ${c.zxid} in force, the leader ${leaderConfig?.zxid}`);
    }
    this.checkLinearizable();
    this.checkKvHistory();
    const order = [...this.committed.keys()].sort((a, b) => a - b);
    for (const n of this.nodes) {
      const applied = n.applied.map((e) => e.zxid);
      // Each life applies from its snapshot on (the beginning, or a SNAP's): what follows must be the one global order.
      // (The snapshot's zxid itself may be one no member applied as an entry: written by a leader that crashed
      // before applying its commit, and installed everywhere since. What it holds is checked by the states agreeing.)
      const start = order.findIndex((z) => z > n.base);
      for (let i = 0; i < applied.length; i++) {
        const want = start < 0 ? undefined : order[start + i];
        if (applied[i] !== want) throw new InvariantViolation(`member ${n.id} applied ${applied[i]} where the global order has ${want}`);
      }
      // What its snapshot held is checked by the states agreeing (below).
      const have = new Set(applied);
      for (const [z, data] of this.acked) {
        if (z > n.base && !have.has(z)) throw new InvariantViolation(`acknowledged write ${data} (zxid ${z}) missing on member ${n.id}`);
      }
    }
    this.checkStates();
  }

  /**
   * Every member's replicated state is the same (tree with stats, sessions,
   * ephemerals), no ephemeral is left without its session, and none of a
   * closed session's.
   */
  checkStates(): void {
    let first: { id: number; dump: string[]; digest: string } | null = null;
    for (const n of this.nodes) {
      const dump = dumpState(n.state);
      const digest = digestOf(dump);
      if (!first) first = { id: n.id, dump, digest };
      else if (digest !== first.digest) throw new InvariantViolation(`member ${n.id}'s state differs from member ${first.id}'s: ${firstDifference(first.dump, dump)}`);
      const orphans = orphanedEphemerals(n.state);
      if (orphans.length > 0) throw new InvariantViolation(`member ${n.id} holds ephemerals whose session is gone: ${orphans.join(', ')}`);
      for (const id of this.closedSessions) {
        if (n.state.sessions.has(id)) throw new InvariantViolation(`member ${n.id} still holds session ${id}, closed`);
      }
    }
  }


  /**
   * Linearizability of the write history: all writes share one total order
   * (zxid), so it is linearizable exactly when that order respects real time —
   * a write acknowledged before another was invoked must come first.
   */
  checkLinearizable(): void {
    const ops = [...this.history].sort((a, b) => a[0] - b[0]);
    let minLaterAck = Infinity;
    let minLaterZxid = -1;
    for (let i = ops.length - 1; i >= 0; i--) {
      const [zxid, h] = ops[i] as [number, { invokedAt: number; ackedAt: number }];
      if (minLaterAck < h.invokedAt) {
        throw new InvariantViolation(`write ${minLaterZxid} was acknowledged at step ${minLaterAck}, before write ${zxid} was invoked at step ${h.invokedAt}, yet ordered after it`);
      }
      if (h.ackedAt < minLaterAck) {
        minLaterAck = h.ackedAt;
        minLaterZxid = zxid;
      }
    }
  }

  private quiescent(): boolean {
    const leader = this.nodes.find((n) => n.peer?.state === 'leading' && n.peer.established)?.peer;
    if (!leader) return false;
    // Applied, not merely known committed (a Ready may still be on its way through the host).
    // Nothing applied ahead left on the leader either: every state stands at the commit point.
    return this.nodes.every((n) => n.peer && n.peer.committed === leader.committed && this.lastApplied(n) === leader.committed && n.state.lastZxid === leader.committed);
  }

  private settled(): boolean {
    const leaders = this.nodes.filter((n) => n.peer?.state === 'leading' && n.peer.established);
    if (leaders.length !== 1) return false;
    return this.nodes.every((n) => n.peer?.isServing);
  }

  /** The established leader's id, or -1. */
  leaderId(): number {
    return this.nodes.find((n) => n.peer?.state === 'leading' && n.peer.established)?.id ?? -1;
  }

  /** What a member is doing now, for scenario assertions. */
  servingAs(id: number): 'leading' | 'following' | 'observing' | 'not serving' {
    const p = this.node(id).peer;
    if (!p || !p.isServing) return 'not serving';
    if (p.state === 'leading') return 'leading';
    return p.isObserver ? 'observing' : 'following';
  }

  /** A member's currentEpoch (-1 while it is down). */
  epochOf(id: number): number {
    return this.node(id).peer?.epoch ?? -1;
  }

  describe(): string {
    return this.nodes
      .map((n) => `${n.id}:${n.peer ? `${n.peer.state}${n.peer.isServing ? '*' : ''} e${n.peer.epoch} last=${n.peer.lastZxid} c=${n.peer.committed}${n.peer.config.zxid > 0 ? ` cfg=${n.peer.config.zxid}:${n.peer.config.voters.join(',')}` : ''}` : 'down'}`)
      .join('  ');
  }
}
