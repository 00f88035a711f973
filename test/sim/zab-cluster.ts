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
 * leader, answered by the member that applies it), and dynamic
 * reconfiguration (ADR 0011): spare members outside the configuration, and
 * a leader that adds, removes, demotes and promotes members as it runs.
 * Every step checks the safety invariants; `finish()` heals everything and
 * checks durability, liveness and the client history.
 */
import type { ZabPeer } from '../../coordinator/zab/peer.ts';
import type { Entry, ZabMessage } from '../../coordinator/zab/messages.ts';
import type { QuorumConfig } from '../../coordinator/zab/quorum.ts';
import { Member, silentMemberLog, type Links, type WireMessage } from '../../coordinator/member/member.ts';
import { SimClock, SimDisk, type SimSnapshot, type Store } from './sim-io.ts';
import { mulberry32 } from '../helpers/seeded-rng.ts';
import { checkKvLinearizable, type KvOp } from './linearizability.ts';

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
  /** Entries applied in this life, in order (a life starts with its snapshot's). */
  applied: Entry[];
  /** The key-value state those entries make. */
  kv: Map<string, string>;
  sinceSnapshot: number;
  downUntil: number;
  /** Ticks owed: a member's clock runs at `rate` ticks per step. */
  owed: number;
  rate: number;
  pausedUntil: number;
}

const SNAPSHOTS_KEPT = 2;
const KEYS = ['a', 'b', 'c'];

/** Entry payloads: `set <key> <value>` (values unique), `sync <read id>` or `reconfig v=<voters> o=<observers>`. */
function applyToKv(kv: Map<string, string>, data: string): void {
  const [verb, key, value] = data.split(' ');
  if (verb === 'set' && key !== undefined && value !== undefined) kv.set(key, value);
}

/** The peer's `configOf` for the simulator's entries. */
function simConfigOf(data: Buffer): { voters: number[]; observers: number[]; data: Buffer } | null {
  if (data[0] !== 0x72 /* r */) return null;
  const m = /^reconfig v=([\d,]*) o=([\d,]*)$/.exec(data.toString());
  if (!m) return null;
  const ids = (s: string): number[] => (s === '' ? [] : s.split(',').map(Number));
  return { voters: ids(m[1] as string), observers: ids(m[2] as string), data };
}

function reconfigEntry(voters: readonly number[], observers: readonly number[]): string {
  return `reconfig v=${[...voters].sort((a, b) => a - b).join(',')} o=${[...observers].sort((a, b) => a - b).join(',')}`;
}

function encodeSimSnapshot(applied: readonly Entry[]): Buffer {
  return Buffer.from(JSON.stringify(applied.map((e) => [e.zxid, e.data.toString()])));
}

function decodeSimSnapshot(data: Buffer): Entry[] {
  return (JSON.parse(data.toString()) as [number, string][]).map(([zxid, d]) => ({ zxid, data: Buffer.from(d) }));
}

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
  /** zxid -> data of everything any member has applied: one value per zxid, ever. */
  private readonly committed = new Map<number, string>();
  /** Writes acknowledged to a client: zxid -> data. */
  readonly acked = new Map<number, string>();
  /** Client history: when each acknowledged write was invoked and answered (steps). */
  private readonly history = new Map<number, { invokedAt: number; ackedAt: number }>();
  private readonly proposals = new Map<number, { data: string; leader: number; life: ZabPeer; invokedAt: number }>();
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
  /** Writes in flight: their data -> their history entry. */
  private readonly kvWrites = new Map<string, KvOp>();
  /** Reads in flight: read id -> the member that answers and its life. */
  private readonly kvReads = new Map<number, { member: number; life: ZabPeer; op: KvOp }>();
  private readCounter = 0;
  /** SNAP syncs delivered, for the scenarios that must exercise them. */
  snapSyncs = 0;
  private readonly initLimit: number;
  private readonly syncLimit: number;
  /** Links clogged until a step: what is sent on them waits (FIFO). */
  private readonly cloggedUntil = new Map<string, number>();

  constructor(
    seed: number,
    readonly mix: FaultMix,
  ) {
    this.rng = mulberry32(seed);
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
      const n: Node = { id, member: null, peer: null, disk: null, clock: null, store, breaksAt: 0, applied: [], kv: new Map(), sinceSnapshot: 0, downUntil: 0, owed: 0, rate, pausedUntil: 0 };
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
          if (every > 0 && n.sinceSnapshot >= every) this.takeSnapshot(n);
        },
        roleChanged: () => {},
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
    n.kv = new Map();
    n.sinceSnapshot = 0;
    if (snap) this.installSnapshot(n, snap);
  }

  /** The member's state becomes the snapshot's; every entry in it must agree with what was committed. */
  private installSnapshot(n: Node, snap: SimSnapshot): void {
    n.applied = [];
    n.kv = new Map();
    for (const e of decodeSimSnapshot(snap.data)) this.apply(n, e);
    const last = n.applied[n.applied.length - 1];
    if ((last?.zxid ?? 0) !== snap.zxid) throw new InvariantViolation(`member ${n.id}: snapshot named ${snap.zxid} ends at ${last?.zxid}`);
  }

  /**
   * A snapshot of what this member applied (committed state), then compaction of its log and disk.
   * Runs between Readies (the member's `afterAdvance`), as compaction must.
   */
  private takeSnapshot(n: Node): void {
    const member = n.member;
    const last = n.applied[n.applied.length - 1];
    if (!member || !last) return;
    const peer = member.peer;
    const store = n.store;
    n.sinceSnapshot = 0;
    store.snapshots.push({ zxid: last.zxid, data: encodeSimSnapshot(n.applied) });
    if (store.snapshots.length > SNAPSHOTS_KEPT) store.snapshots.shift();
    // The oldest kept snapshot is the log's base: it must stay while the peer may name it in a SNAP.
    const oldest = (store.snapshots[0] as SimSnapshot).zxid;
    if (oldest > peer.snapshotZxid && oldest <= peer.committed) member.compact(oldest);
    store.log = store.log.filter((e) => e.zxid > peer.snapshotZxid);
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

  private apply(n: Node, e: Entry): void {
    const prev = n.applied[n.applied.length - 1];
    if (prev && e.zxid <= prev.zxid) throw new InvariantViolation(`member ${n.id} applied ${e.zxid} after ${prev.zxid}`);
    const data = e.data.toString();
    const seen = this.committed.get(e.zxid);
    if (seen !== undefined && seen !== data) throw new InvariantViolation(`zxid ${e.zxid} committed as '${seen}' and as '${data}' (member ${n.id})`);
    this.committed.set(e.zxid, data);
    n.applied.push(e);
    applyToKv(n.kv, data);
    if (seen === undefined && data.startsWith('reconfig ')) this.reconfigsCommitted++;
    const p = this.proposals.get(e.zxid);
    if (p && p.leader === n.id && p.life === n.peer && p.data === data) {
      this.acked.set(e.zxid, data);
      this.history.set(e.zxid, { invokedAt: p.invokedAt, ackedAt: this.now });
      this.proposals.delete(e.zxid);
      const op = this.kvWrites.get(data);
      if (op) {
        op.respondedAt = this.now;
        this.kvWrites.delete(data);
      }
    }
    if (data.startsWith('sync ')) {
      const id = Number(data.slice(5));
      const read = this.kvReads.get(id);
      if (read && read.member === n.id && read.life === n.peer) {
        read.op.value = n.kv.get(read.op.key) ?? null;
        read.op.respondedAt = this.now;
        this.kvReads.delete(id);
      }
    }
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
    n.kv = new Map();
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
    for (const n of this.nodes) {
      const p = n.peer;
      if (!p || p.state !== 'leading' || !p.established) continue;
      const key = KEYS[Math.floor(this.rng() * KEYS.length)] as string;
      const data = `set ${key} w${this.writeCounter++}`;
      const zxid = p.propose(Buffer.from(data));
      if (zxid === null) continue;
      this.proposals.set(zxid, { data, leader: n.id, life: p, invokedAt: this.now });
      const op: KvOp = { kind: 'set', key, value: data.split(' ')[2] as string, invokedAt: this.now, respondedAt: Infinity };
      this.kvOps.push(op);
      this.kvWrites.set(data, op);
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
    const leader = this.node(p.leader).peer;
    if (!leader || leader.state !== 'leading' || !leader.established) return;
    const id = this.readCounter++;
    if (leader.propose(Buffer.from(`sync ${id}`)) === null) return;
    const key = KEYS[Math.floor(this.rng() * KEYS.length)] as string;
    const op: KvOp = { kind: 'get', key, value: null, invokedAt: this.now, respondedAt: Infinity };
    this.kvOps.push(op);
    this.kvReads.set(id, { member: n.id, life: p, op });
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
    const leader = this.nodes.find((n) => n.peer?.state === 'leading' && n.peer.established)?.peer;
    if (!leader || leader.pendingConfig || !leader.isQuorumSynced(voters)) return false;
    if (leader.propose(Buffer.from(reconfigEntry(voters, observers))) === null) return false;
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
      for (const n of this.nodes) {
        const p = n.peer;
        if (p && p.state === 'leading' && p.established) {
          const data = `set final f${this.writeCounter}`;
          const z = p.propose(Buffer.from(data));
          if (z !== null) this.proposals.set(z, { data, leader: n.id, life: p, invokedAt: this.now });
        }
      }
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
      // Each life applies from the beginning: it must be a prefix of the one global order.
      for (let i = 0; i < applied.length; i++) {
        if (applied[i] !== order[i]) throw new InvariantViolation(`member ${n.id} applied ${applied[i]} where the global order has ${order[i]}`);
      }
      const have = new Set(applied);
      for (const [z, data] of this.acked) {
        if (!have.has(z)) throw new InvariantViolation(`acknowledged write ${data} (zxid ${z}) missing on member ${n.id}`);
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
    return this.nodes.every((n) => n.peer && n.peer.committed === leader.committed && (n.applied[n.applied.length - 1]?.zxid ?? 0) === leader.committed);
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
