/**
 * A seeded simulation of a ZAB ensemble: the real ZabPeer on a simulated
 * network (per-link FIFO like TCP; loss breaks the link and both ends hear
 * `disconnected`), a simulated disk (a Ready's writes are durable only when
 * its fsync completes; a crash loses what was not), crashes, restarts,
 * asymmetric partitions and clients writing through whoever leads.
 * Every step checks the safety invariants; `finish()` heals everything and
 * checks durability and liveness.
 */
import { ZabPeer } from '../../coordinator/zab/peer.ts';
import type { Entry, PersistedState, Ready, ZabMessage } from '../../coordinator/zab/messages.ts';
import { mulberry32 } from '../helpers/seeded-rng.ts';

export { mulberry32 };


export interface FaultMix {
  members: number;
  lossRate: number;
  crashRate: number;
  partitionRate: number;
  maxDelay: number;
  maxFsyncDelay: number;
  writeRate: number;
}

export class InvariantViolation extends Error {
  override readonly name = 'InvariantViolation';
}

interface Node {
  id: number;
  peer: ZabPeer | null;
  disk: PersistedState;
  pending: { ready: Ready; doneAt: number } | null;
  /** Entries applied in this life, in order. */
  applied: Entry[];
  downUntil: number;
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
  readonly members: number[];

  constructor(
    seed: number,
    readonly mix: FaultMix,
  ) {
    this.rng = mulberry32(seed);
    this.members = Array.from({ length: mix.members }, (_, i) => i + 1);
    for (const id of this.members) {
      const disk: PersistedState = { acceptedEpoch: 0, currentEpoch: 0, log: [] };
      this.nodes.push({ id, peer: this.boot(id, disk), disk, pending: null, applied: [], downUntil: 0 });
    }
  }

  private boot(id: number, disk: PersistedState): ZabPeer {
    return new ZabPeer({ id, members: this.members, initLimit: 20, syncLimit: 8 }, { acceptedEpoch: disk.acceptedEpoch, currentEpoch: disk.currentEpoch, log: disk.log.slice() });
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
    const at = Math.max(this.now + 1 + Math.floor(this.rng() * (this.mix.maxDelay + 1)) + extraDelay, this.linkLast.get(link) ?? 0);
    this.linkLast.set(link, at);
    this.net.push({ msg, at, seq: this.seq++ });
  }

  /** A broken link: both ends find out, a little later. */
  private breakLink(a: number, b: number): void {
    this.net = this.net.filter((f) => !((f.msg.from === a && f.msg.to === b) || (f.msg.from === b && f.msg.to === a)) || f.msg.kind === 'vote');
    this.broken.add(`${a}>${b}`);
    this.broken.add(`${b}>${a}`);
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
      if (!target.peer) continue;
      const isVote = m.kind === 'vote';
      // Sent before its connection broke: it died with that connection.
      if (!isVote && m.kind !== 'disconnected' && this.broken.has(`${m.from}>${m.to}`)) continue;
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
      if (m.kind === 'disconnected') this.broken.delete(`${m.to}>${m.from}`);
      target.peer.step(m);
    }
    for (const n of this.nodes) n.peer?.tick();
    for (const n of this.nodes) this.host(n);
    if (faults) this.injectFaults();
    if (writes) this.clientWrites();
    this.checkLeaders();
  }

  /** The edge loop around one peer: persist, then send, then apply, then advance. */
  private host(n: Node): void {
    const peer = n.peer;
    if (!peer) return;
    if (n.pending && this.now >= n.pending.doneAt) {
      const r = n.pending.ready;
      n.pending = null;
      const p = r.persist;
      if (p.truncateTo !== null) n.disk.log = n.disk.log.filter((e) => e.zxid <= (p.truncateTo as number));
      for (const e of p.entries) n.disk.log.push(e);
      if (p.acceptedEpoch !== null) n.disk.acceptedEpoch = p.acceptedEpoch;
      if (p.currentEpoch !== null) n.disk.currentEpoch = p.currentEpoch;
      for (const m of r.messages) this.send(m);
      for (const e of r.committed) this.apply(n, e);
      peer.advance(r);
    }
    if (!n.pending && peer.hasReady()) {
      n.pending = { ready: peer.ready(), doneAt: this.now + Math.floor(this.rng() * (this.mix.maxFsyncDelay + 1)) };
      if (n.pending.doneAt === this.now) this.host(n);
    }
  }

  private apply(n: Node, e: Entry): void {
    const prev = n.applied[n.applied.length - 1];
    if (prev && e.zxid <= prev.zxid) throw new InvariantViolation(`member ${n.id} applied ${e.zxid} after ${prev.zxid}`);
    const data = e.data.toString();
    const seen = this.committed.get(e.zxid);
    if (seen !== undefined && seen !== data) throw new InvariantViolation(`zxid ${e.zxid} committed as '${seen}' and as '${data}' (member ${n.id})`);
    this.committed.set(e.zxid, data);
    n.applied.push(e);
    const p = this.proposals.get(e.zxid);
    if (p && p.leader === n.id && p.life === n.peer && p.data === data) {
      this.acked.set(e.zxid, data);
      this.history.set(e.zxid, { invokedAt: p.invokedAt, ackedAt: this.now });
      this.proposals.delete(e.zxid);
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
    const alive = this.nodes.filter((n) => n.peer);
    if (this.chance(this.mix.crashRate) && alive.length > 0) {
      const victim = alive[Math.floor(this.rng() * alive.length)] as Node;
      this.crash(victim);
    }
    for (const n of this.nodes) {
      if (!n.peer && this.now >= n.downUntil) this.restart(n);
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

  crash(n: Node): void {
    n.peer = null;
    n.pending = null; // un-fsynced writes are lost
    n.applied = [];
    n.downUntil = this.now + 5 + Math.floor(this.rng() * 30);
    for (const other of this.members) if (other !== n.id) this.breakLink(n.id, other);
  }

  restart(n: Node): void {
    for (const other of this.members) this.broken.delete(`${n.id}>${other}`);
    n.peer = this.boot(n.id, n.disk);
    n.applied = [];
  }

  private clientWrites(): void {
    if (!this.chance(this.mix.writeRate)) return;
    for (const n of this.nodes) {
      const p = n.peer;
      if (!p || p.state !== 'leading' || !p.established) continue;
      const data = `w${this.writeCounter++}`;
      const zxid = p.propose(Buffer.from(data));
      if (zxid !== null) this.proposals.set(zxid, { data, leader: n.id, life: p, invokedAt: this.now });
    }
  }

  /** Heal, restart everyone, run fault-free until the ensemble settles, then check durability and agreement. */
  finish(budget: number): void {
    this.blocked.clear();
    for (const n of this.nodes) if (!n.peer) this.restart(n);
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
          const data = `final${this.writeCounter}`;
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
    this.checkLinearizable();
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
    return this.nodes.every((n) => n.peer && n.peer.committed === leader.committed && n.pending === null);
  }

  private settled(): boolean {
    const leaders = this.nodes.filter((n) => n.peer?.state === 'leading' && n.peer.established);
    if (leaders.length !== 1) return false;
    return this.nodes.every((n) => n.peer?.isServing);
  }

  describe(): string {
    return this.nodes
      .map((n) => `${n.id}:${n.peer ? `${n.peer.state}${n.peer.isServing ? '*' : ''} e${n.peer.epoch} last=${n.peer.lastZxid} c=${n.peer.committed}` : 'down'}`)
      .join('  ');
  }
}
