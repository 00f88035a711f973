/**
 * The configurations a peer has in play (pure; dynamic reconfiguration, ADR
 * 0011): the committed one, and those logged above the commit point by
 * reconfig entries (the host's `configOf` tells them apart). Until such an
 * entry commits, every quorum needs a majority of each configuration in
 * play; when it commits it becomes the one in force. A member that votes in
 * any of them counts as a voter.
 */
import type { Entry, Vote } from './messages.ts';
import { isQuorum, isQuorumOfAll, type QuorumConfig } from './quorum.ts';

export type ConfigOf = (data: Buffer) => { voters: readonly number[]; observers: readonly number[]; data: Buffer } | null;

export class Configs {
  /** The committed configuration. */
  active: QuorumConfig;
  /** Logged above the commit point, in zxid order. */
  private pending: QuorumConfig[] = [];
  private inPlay: readonly QuorumConfig[] = [];
  private voterSet: ReadonlySet<number> = new Set();
  /** Everyone in a configuration in play, voters and observers: whom votes go to. */
  members: readonly number[] = [];

  constructor(
    initial: QuorumConfig,
    readonly configOf: ConfigOf | undefined,
  ) {
    this.active = initial;
    this.refresh();
  }

  /** The newest configuration proposed and not yet committed, or null. */
  get newestPending(): QuorumConfig | null {
    return this.pending[this.pending.length - 1] ?? null;
  }

  /**
   * Election order: higher epoch, then zxid, then id — and only a voter of
   * the committed configuration is ever the better candidate (ZooKeeper's
   * totalOrderPredicate: weight 0 never wins); otherwise members that have
   * not all logged a pending reconfig would split between its joiner and
   * the old voters, and elect neither.
   */
  better(a: Vote, b: Vote): boolean {
    const voters = this.active.voters;
    if (!voters.includes(a.leader)) return false;
    if (!voters.includes(b.leader)) return true;
    if (a.epoch !== b.epoch) return a.epoch > b.epoch;
    if (a.zxid !== b.zxid) return a.zxid > b.zxid;
    return a.leader > b.leader;
  }

  votes(id: number): boolean {
    return this.voterSet.has(id);
  }

  /** A quorum in every configuration in play, or (for entry `zxid`) in those logged up to it. */
  isQuorum(ids: ReadonlySet<number>, zxid = Infinity): boolean {
    return isQuorumOfAll(ids, zxid === Infinity ? this.inPlay : this.inPlay.filter((c) => c === this.active || c.zxid <= zxid));
  }

  /** Recomputes what is pending from the log (entries above the active configuration and the commit point). */
  reset(log: readonly Entry[], committedZxid: number): void {
    this.pending = [];
    if (this.configOf) {
      for (const e of log) if (e.zxid > this.active.zxid && e.zxid > committedZxid) this.note(e);
    }
    this.refresh();
  }

  appended(e: Entry): void {
    if (!this.configOf || e.zxid <= this.active.zxid) return;
    if (this.note(e)) this.refresh();
  }

  truncated(zxid: number): void {
    if (!this.pending.some((c) => c.zxid > zxid)) return;
    this.pending = this.pending.filter((c) => c.zxid <= zxid);
    this.refresh();
  }

  /** Entries up to `zxid` committed: the configurations they carry take effect. True if one did. */
  committed(zxid: number): boolean {
    let activated = false;
    for (let c = this.pending[0]; c && c.zxid <= zxid; c = this.pending[0]) {
      this.active = c;
      this.pending.shift();
      activated = true;
    }
    if (activated) this.refresh();
    return activated;
  }

  /**
   * Adopts a committed configuration learned from another member (never an
   * older one); what the log holds above it is pending again. True if adopted.
   */
  adopt(c: QuorumConfig | undefined, log: readonly Entry[], committedZxid: number): boolean {
    if (!c || c.zxid < this.active.zxid) return false;
    this.active = c;
    this.reset(log, committedZxid);
    return true;
  }

  /**
   * Leader: the last of `log[start..]` (in zxid order, above the commit
   * point `from`) that may commit — each needs a quorum of acks in the
   * committed configuration and in every one proposed up to it; once a
   * reconfig entry is passed, its old configuration no longer counts for
   * those after it. Returns `from` when the first cannot. On every ack: with
   * one configuration in play (almost always) it allocates nothing.
   */
  lastCommittable(log: readonly Entry[], start: number, acks: ReadonlyMap<number, ReadonlySet<number>>, from: number): number {
    let upTo = from;
    let configs = this.inPlay;
    for (let i = start; i < log.length; i++) {
      const e = log[i] as Entry;
      const s = acks.get(e.zxid);
      if (!s) break;
      if (configs.length === 1) {
        if (!isQuorum(s, (configs[0] as QuorumConfig).voters)) break;
      } else {
        if (!isQuorumOfAll(s, configs.filter((c, k) => k === 0 || c.zxid <= e.zxid))) break;
        const k = configs.findIndex((c, j) => j > 0 && c.zxid === e.zxid);
        if (k > 0) configs = configs.slice(k);
      }
      upTo = e.zxid;
    }
    return upTo;
  }

  private note(e: Entry): boolean {
    const c = this.configOf?.(e.data);
    if (!c) return false;
    this.pending.push({ zxid: e.zxid, voters: c.voters, observers: c.observers, data: c.data });
    return true;
  }

  private refresh(): void {
    this.inPlay = [this.active, ...this.pending];
    const voters = new Set<number>();
    const members = new Set<number>();
    for (const c of this.inPlay) {
      for (const v of c.voters) voters.add(v);
      for (const id of [...c.voters, ...c.observers]) members.add(id);
    }
    this.voterSet = voters;
    this.members = [...members];
  }
}
