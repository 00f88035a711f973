/**
 * ZAB as a pure state machine: ticks and messages in; durable work,
 * messages and committed entries out (`ready()`), acknowledged with
 * `advance()` once the host has persisted the work and sent the messages.
 * No sockets, timers or disk: the same code runs under the seeded simulator.
 *
 * Phases (zk-protocol.md §12):
 *  - election: fast leader election by (epoch, zxid, id), in rounds;
 *  - discovery: FOLLOWERINFO -> LEADERINFO(newEpoch = max accepted + 1) -> ACKEPOCH;
 *  - synchronization: DIFF, TRUNC+DIFF or SNAP, and NEWLEADER, in one `sync`
 *    message; the follower persists it and its new currentEpoch before
 *    acking; a quorum of acks establishes the leader, which then commits its
 *    whole log;
 *  - broadcast: PROPOSAL -> ACK (after fsync) -> COMMIT strictly in zxid order.
 *
 * The log in memory starts after a snapshot (`snapshotZxid`, 0 for none): the
 * host takes snapshots of committed state and calls `compact()`. The peer
 * never sees a snapshot's bytes; it only decides when one must be sent (a
 * follower behind the log's start, or diverged where no common entry is left)
 * and passes a received one on to its host.
 *
 * Observers (non-voting members) learn like followers — discovery, sync,
 * proposals and commits — but never vote, never ack, never lead, and count
 * toward no quorum; they accept whatever epoch an established leader has
 * (they promised nothing), and a leader does not step down over an
 * observer's longer log (it holds no more than uncommitted proposals).
 *
 * Dynamic reconfiguration (ADR 0011): every quorum counts over the
 * configurations in play (configs.ts); see settleConfig and adoptConfig.
 */
import type { Entry, PeerState, PersistWork, PersistedState, Ready, Vote, ZabMessage } from './messages.ts';
import { isQuorum, type QuorumConfig } from './quorum.ts';
import { Configs } from './configs.ts';
import { planSync } from './sync-plan.ts';
import { COUNTER_MAX, epochOf, makeZxid } from './zxid.ts';

export interface ZabConfig {
  id: number;
  /** Voting members, including this one unless it observes (in neither list: a non-voting learner, e.g. a joiner). */
  members: readonly number[];
  /** Non-voting members (observers), including this one if it is one. */
  observers?: readonly number[];
  /** Ticks a follower may take to sync with a new leader (until UPTODATE), and a leader to establish. */
  initLimit: number;
  /** Ticks without hearing the other side, once serving, before giving up on it. */
  syncLimit: number;
  /** Ticks to wait for a better vote once a quorum agrees (ZooKeeper waits 200 ms). */
  finalizeWait?: number;
  /** The version (zxid) of the configuration `members`/`observers` describe: 0 for zoo.cfg's. */
  configZxid?: number;
  /** That configuration's text, opaque to the peer (a learner adopts its leader's at sync). */
  configData?: Buffer | null;
  /** Recognizes an entry that reconfigures the ensemble (pure; null for any other entry). */
  configOf?: (data: Buffer) => { voters: readonly number[]; observers: readonly number[]; data: Buffer } | null;
}

export class ZabInvariantError extends Error {
  override readonly name = 'ZabInvariantError';
}

function sameVote(a: Vote, b: Vote): boolean {
  return a.leader === b.leader && a.zxid === b.zxid && a.epoch === b.epoch;
}

interface LearnerView {
  acceptedEpoch: number;
  lastZxid: number;
  /** Sync sent: proposals and commits now flow to it. */
  synced: boolean;
  lastHeard: number;
}

export class ZabPeer {
  readonly id: number;
  private readonly cfg: Required<Omit<ZabConfig, 'configOf' | 'configData' | 'configZxid'>>;
  /** The configurations in play: the committed one and those proposed above it (configs.ts). */
  private readonly configs: Configs;
  /** False from a configuration change until settleConfig ran. */
  private configSettled = true;

  // durable state (mirrors what the host has persisted, plus what it is about to)
  private acceptedEpoch: number;
  private currentEpoch: number;
  /** Entries above `base`, in zxid order. */
  private log: Entry[];
  /** The snapshot the log continues: everything up to it is committed and compacted away. */
  private base: number;

  // volatile
  private now = 0;
  state: PeerState = 'looking';
  private committedZxid = 0;
  private leaderId = -1;
  private leaderEpoch = -1;

  // election
  private round = 0;
  private vote: Vote;
  private readonly votes = new Map<number, Vote>();
  private readonly outOfElection = new Map<number, { vote: Vote; state: PeerState }>();
  private finalizeAt = -1;
  private lastVoteBroadcast = -1;

  // leader
  private readonly learners = new Map<number, LearnerView>();
  private newEpoch = -1;
  private readonly ackedNewLeader = new Set<number>();
  private readonly ackedEpoch = new Set<number>();
  established = false;
  private leadingSince = 0;
  private counter = 0;
  private readonly acks = new Map<number, Set<number>>();
  /** Highest zxid this member has durably logged (its own ack as leader). */
  private durableZxid = 0;

  // follower
  private lastHeardLeader = 0;
  private followerPhase: 'discovery' | 'sync' | 'broadcast' = 'discovery';
  serving = false;

  // output
  private out: ZabMessage[] = [];
  private persist: PersistWork = emptyPersist();
  private committedOut: Entry[] = [];
  private inFlight: Ready | null = null;

  constructor(cfg: ZabConfig, persisted: PersistedState) {
    this.id = cfg.id;
    this.cfg = { finalizeWait: 2, observers: [], ...cfg };
    this.configs = new Configs({ zxid: cfg.configZxid ?? 0, voters: cfg.members, observers: cfg.observers ?? [], data: cfg.configData ?? null }, cfg.configOf);
    this.acceptedEpoch = persisted.acceptedEpoch;
    this.currentEpoch = persisted.currentEpoch;
    this.base = persisted.snapshotZxid ?? 0;
    this.log = persisted.log.slice();
    const first = this.log[0];
    if (first && first.zxid <= this.base) throw new ZabInvariantError(`log starts at ${first.zxid}, not above its snapshot ${this.base}`);
    // A snapshot only ever holds committed state.
    this.committedZxid = this.base;
    this.durableZxid = this.lastZxid;
    this.configs.reset(this.log, this.committedZxid);
    this.vote = { leader: this.id, zxid: this.lastZxid, epoch: this.currentEpoch };
    this.startElection();
  }

  /** This member learns but never votes, acks or leads (an observer, or in no configuration in play). */
  get isObserver(): boolean {
    return !this.configs.votes(this.id);
  }

  /** The committed configuration, and the newest one proposed above it (null: none). */
  get config(): QuorumConfig {
    return this.configs.active;
  }
  get pendingConfig(): QuorumConfig | null {
    return this.configs.newestPending;
  }

  /** Leader: a quorum of `voters` is synced with it (ZooKeeper's isQuorumSynced; else NewConfigNoQuorum). */
  isQuorumSynced(voters: readonly number[]): boolean {
    if (this.state !== 'leading' || !this.established) return false;
    const ids = new Set<number>([this.id]);
    for (const [id, l] of this.learners) {
      if (l.synced && this.ackedNewLeader.has(id) && this.now - l.lastHeard <= this.cfg.syncLimit) ids.add(id);
    }
    return isQuorum(ids, voters);
  }

  get lastZxid(): number {
    const last = this.log[this.log.length - 1];
    return last ? last.zxid : this.base;
  }

  /** The snapshot the in-memory log continues (0: none). */
  get snapshotZxid(): number {
    return this.base;
  }

  get committed(): number {
    return this.committedZxid;
  }

  /** Leader: followers connected (excluding itself and observers), those synced, and observers, for mntr. */
  get learnerStats(): { learners: number; synced: number; pendingSyncs: number; observers: number } {
    let learners = 0;
    let synced = 0;
    let observers = 0;
    for (const [id, l] of this.learners) {
      if (id === this.id) continue;
      if (!this.configs.votes(id)) {
        observers++;
        continue;
      }
      learners++;
      if (l.synced && this.ackedNewLeader.has(id)) synced++;
    }
    return { learners, synced, pendingSyncs: learners - synced, observers };
  }

  /** The zxid the next proposal will get (an established leader's). */
  get nextZxid(): number {
    return makeZxid(this.currentEpoch, this.counter + 1);
  }

  /**
   * The committed entries above `snapshotZxid`: what a member that applied
   * ahead must rebuild from (over that snapshot).
   */
  committedEntries(): Entry[] {
    return this.log.slice(0, this.indexAfter(this.committedZxid));
  }

  get leader(): number {
    return this.leaderId;
  }

  get epoch(): number {
    return this.currentEpoch;
  }

  /** A leader or follower that may serve clients. */
  get isServing(): boolean {
    return this.state === 'leading' ? this.established : this.state === 'following' && this.serving;
  }

  // ------------------------------------------------------------ host interface

  hasReady(): boolean {
    if (this.inFlight) return false;
    const p = this.persist;
    return (
      this.out.length > 0 ||
      this.committedOut.length > 0 ||
      p.entries.length > 0 ||
      p.truncateTo !== null ||
      p.snapshot !== null ||
      p.acceptedEpoch !== null ||
      p.currentEpoch !== null
    );
  }

  /**
   * The host has durably written a snapshot of committed state at `zxid`:
   * drop the log up to it. Followers further behind, or diverged below it,
   * get SNAP from now on. The host must keep the snapshot a handed-out
   * Ready's SNAP names until it has sent that Ready.
   */
  compact(zxid: number): void {
    if (zxid > this.committedZxid) throw new ZabInvariantError(`compact to ${zxid} above committed ${this.committedZxid}`);
    if (zxid <= this.base) return;
    const i = this.indexAfter(zxid);
    const kept = this.log[i - 1];
    if (!kept || kept.zxid !== zxid) throw new ZabInvariantError(`compact to ${zxid}, which is not in the log`);
    this.log = this.log.slice(i);
    this.base = zxid;
    // A SNAP not yet handed out names the old base, which the host may now
    // drop: point it at the new one (whose snapshot the host just wrote).
    for (let k = 0; k < this.out.length; k++) {
      const m = this.out[k] as ZabMessage;
      if (m.kind !== 'sync' || m.snapshot === null) continue;
      this.out[k] = { ...m, snapshot: { zxid, data: null }, entries: m.entries.filter((e) => e.zxid > zxid) };
    }
  }

  ready(): Ready {
    if (this.inFlight) throw new ZabInvariantError('ready() before advance() of the previous Ready');
    const r: Ready = { persist: this.persist, messages: this.out, committed: this.committedOut };
    this.persist = emptyPersist();
    this.out = [];
    this.committedOut = [];
    this.inFlight = r;
    return r;
  }

  /** The host has made `r.persist` durable and sent `r.messages`. */
  advance(r: Ready): void {
    if (r !== this.inFlight) throw new ZabInvariantError('advance() of a Ready that was not handed out');
    this.inFlight = null;
    const last = r.persist.entries[r.persist.entries.length - 1];
    if (r.persist.truncateTo !== null) this.durableZxid = Math.min(this.durableZxid, r.persist.truncateTo);
    if (r.persist.snapshot !== null) this.durableZxid = Math.max(this.durableZxid, r.persist.snapshot.zxid);
    if (last) this.durableZxid = Math.max(this.durableZxid, last.zxid);
    if (this.state === 'leading') {
      if (last) this.recordAck(this.id, last.zxid);
      this.maybeEstablish();
    }
    if (this.state === 'following' && !this.isObserver && last && this.followerPhase === 'broadcast' && epochOf(last.zxid) === this.leaderEpoch) {
      // Acks go out only for what is on disk; one ack covers every earlier entry.
      this.send({ kind: 'ack', from: this.id, to: this.leaderId, epoch: this.leaderEpoch, zxid: last.zxid });
    }
    this.settleConfig();
  }

  tick(): void {
    this.now++;
    switch (this.state) {
      case 'looking':
        if (this.finalizeAt >= 0 && this.now >= this.finalizeAt) this.finalizeElection();
        else if (this.now - this.lastVoteBroadcast >= 2) this.broadcastVote(); // votes may be lost: resend
        return;
      case 'leading':
        this.leaderTick();
        return;
      case 'following': {
        // syncLimit only once the leader has said UPTODATE: until then it sends
        // nothing while it gathers its quorum's NEWLEADER acks, which may take up
        // to initLimit (ZooKeeper's learner keeps the initLimit socket timeout
        // until UPTODATE). A follower that acked early and gave up after
        // syncLimit cost the leader its quorum, over and over (issue 12).
        const limit = this.serving ? this.cfg.syncLimit : this.cfg.initLimit;
        if (this.now - this.lastHeardLeader > limit) this.goLooking();
        else if (this.followerPhase === 'discovery') this.sendFollowerInfo(); // the leader may not have been listening yet
        return;
      }
    }
  }

  /** Leader only: a client write. Returns its zxid, or null when this member cannot propose. */
  propose(data: Buffer): number | null {
    if (this.state !== 'leading' || !this.established) return null;
    if (this.counter >= COUNTER_MAX) {
      // ZOOKEEPER-1277: a new epoch before the counter wraps.
      this.goLooking();
      return null;
    }
    const entry: Entry = { zxid: makeZxid(this.currentEpoch, ++this.counter), data };
    this.appendLocal(entry);
    for (const [id, l] of this.learners) {
      if (l.synced) this.send({ kind: 'proposal', from: this.id, to: id, epoch: this.currentEpoch, entry });
    }
    return entry.zxid;
  }

  step(m: ZabMessage): void {
    this.stepOnce(m);
    this.settleConfig();
  }

  private stepOnce(m: ZabMessage): void {
    if (m.to !== this.id || m.from === this.id) return;
    if (m.kind === 'vote') {
      this.onVote(m);
      return;
    }
    if (m.kind === 'disconnected') {
      // What is still queued for that member was meant for the connection
      // that broke, and dies with it: sent on the next one, an answer to an
      // earlier attempt would meet a later one (a sync planned from a log the
      // learner no longer has). Votes stand apart. The host does the same for
      // a Ready it took before this (see Ready).
      this.out = this.out.filter((o) => o.to !== m.from || o.kind === 'vote');
      if (this.state === 'following' && m.from === this.leaderId) this.goLooking();
      else if (this.state === 'leading') this.learners.delete(m.from);
      return;
    }
    if (this.state === 'leading') this.onLeaderMessage(m);
    else if (this.state === 'following') this.onFollowerMessage(m);
  }

  // ------------------------------------------------------------ election

  private startElection(): void {
    this.state = 'looking';
    this.round++;
    this.vote = { leader: this.id, zxid: this.lastZxid, epoch: this.currentEpoch };
    this.votes.clear();
    this.outOfElection.clear();
    this.votes.set(this.id, this.vote);
    this.finalizeAt = -1;
    this.broadcastVote();
    // A lone voter is its own quorum (an ensemble of one: a standalone server).
    if (!this.isObserver && this.configs.isQuorum(new Set([this.id]))) this.checkQuorum();
  }

  private broadcastVote(): void {
    this.lastVoteBroadcast = this.now;
    for (const p of this.configs.members) {
      if (p !== this.id) this.send(this.voteMessage(p, this.vote));
    }
  }

  private currentVote(): Vote {
    if (this.state === 'looking') return this.vote;
    return { leader: this.leaderId, zxid: this.lastZxid, epoch: this.currentEpoch };
  }

  /** Votes carry the committed configuration (as ZooKeeper's notifications): one who missed a reconfig learns whom to ask. */
  private voteMessage(to: number, vote: Vote): ZabMessage {
    // zoo.cfg's configuration (version 0) is news to no one: votes stay small until a reconfig.
    const config = this.configs.active.zxid > 0 ? this.configs.active : undefined;
    return config ? { kind: 'vote', from: this.id, to, round: this.round, vote, state: this.state, config } : { kind: 'vote', from: this.id, to, round: this.round, vote, state: this.state };
  }

  private onVote(m: Extract<ZabMessage, { kind: 'vote' }>): void {
    // A newer committed configuration than ours is the ensemble's now (ZooKeeper adopts it while looking).
    if (this.state === 'looking' && m.config && m.config.zxid > this.configs.active.zxid) this.adoptConfig(m.config);
    // Only voters' votes count; an observer's vote only asks who leads.
    if (!this.configs.votes(m.from) && this.state === 'looking') return;
    if (this.isObserver && (this.state !== 'looking' || m.state === 'looking')) return;
    if (this.state !== 'looking') {
      // Tell a looking member who leads, so it can join without a new election.
      if (m.state === 'looking') {
        this.send(this.voteMessage(m.from, this.currentVote()));
      }
      return;
    }
    if (m.state === 'looking') {
      if (m.round > this.round) {
        this.round = m.round;
        this.votes.clear();
        const mine: Vote = { leader: this.id, zxid: this.lastZxid, epoch: this.currentEpoch };
        this.vote = this.configs.better(m.vote, mine) ? m.vote : mine;
        this.votes.set(this.id, this.vote);
        this.broadcastVote();
      } else if (m.round < this.round) {
        this.send(this.voteMessage(m.from, this.vote));
        return;
      } else if (this.configs.better(m.vote, this.vote)) {
        this.vote = m.vote;
        this.votes.set(this.id, this.vote);
        this.broadcastVote();
      }
      this.votes.set(m.from, m.vote);
      this.checkQuorum();
      return;
    }
    // From a member that is following or leading: join an established leadership.
    this.outOfElection.set(m.from, { vote: m.vote, state: m.state });
    const leader = m.vote.leader;
    const agree = new Set<number>([this.id]); // this member, if it follows too (a non-voter counts in no quorum)
    let leaderConfirms = leader === this.id;
    for (const [from, o] of this.outOfElection) {
      if (o.vote.leader !== leader || o.vote.epoch !== m.vote.epoch || !this.configs.votes(from)) continue;
      agree.add(from);
      if (from === leader && o.state === 'leading') leaderConfirms = true;
    }
    if (this.configs.isQuorum(agree) && leaderConfirms && leader !== this.id && this.configs.active.voters.includes(leader)) this.becomeFollower(leader);
  }

  private agreeing(): Set<number> {
    const ids = new Set<number>();
    for (const [id, v] of this.votes) if (sameVote(v, this.vote)) ids.add(id);
    return ids;
  }

  private checkQuorum(): void {
    if (this.configs.isQuorum(this.agreeing())) {
      if (this.finalizeAt < 0) this.finalizeAt = this.now + this.cfg.finalizeWait;
    } else {
      this.finalizeAt = -1;
    }
  }

  private finalizeElection(): void {
    this.finalizeAt = -1;
    if (!this.configs.isQuorum(this.agreeing())) return;
    if (!this.configs.active.voters.includes(this.vote.leader)) return;
    if (this.vote.leader === this.id) this.becomeLeader();
    else this.becomeFollower(this.vote.leader);
  }

  private goLooking(): void {
    this.learners.clear();
    this.ackedNewLeader.clear();
    this.ackedEpoch.clear();
    this.acks.clear();
    this.established = false;
    this.serving = false;
    this.leaderId = -1;
    this.leaderEpoch = -1;
    this.newEpoch = -1;
    this.startElection();
  }

  // ------------------------------------------------------------ leader

  private becomeLeader(): void {
    this.state = 'leading';
    this.leaderId = this.id;
    this.established = false;
    this.leadingSince = this.now;
    this.learners.clear();
    this.ackedNewLeader.clear();
    this.ackedEpoch.clear();
    this.acks.clear();
    this.newEpoch = -1;
    // Its own FOLLOWERINFO, in effect.
    this.learners.set(this.id, { acceptedEpoch: this.acceptedEpoch, lastZxid: this.lastZxid, synced: true, lastHeard: this.now });
    if (this.configs.isQuorum(new Set([this.id]))) {
      // An ensemble of one: its own FOLLOWERINFO and ACKEPOCH are the quorum's. The epochs go to
      // disk with the next Ready; it establishes when that Ready is advanced (maybeEstablish).
      this.newEpoch = this.acceptedEpoch + 1;
      this.acceptedEpoch = this.newEpoch;
      this.persist.acceptedEpoch = this.newEpoch;
      this.currentEpoch = this.newEpoch;
      this.persist.currentEpoch = this.newEpoch;
      this.counter = 0;
    }
  }

  private leaderTick(): void {
    if (!this.established) {
      if (this.now - this.leadingSince > this.cfg.initLimit) this.goLooking();
      return;
    }
    const heard = new Set<number>([this.id]);
    for (const [id, l] of this.learners) {
      if (id === this.id || !l.synced) continue;
      if (this.configs.votes(id) && this.now - l.lastHeard <= this.cfg.syncLimit) heard.add(id);
      this.send({ kind: 'ping', from: this.id, to: id, epoch: this.currentEpoch, commitZxid: this.committedZxid });
    }
    // A leader that cannot hear a quorum steps down (syncLimit).
    if (!this.configs.isQuorum(heard)) this.goLooking();
  }

  private onLeaderMessage(m: ZabMessage): void {
    const l = this.learners.get(m.from);
    if (l) l.lastHeard = this.now;
    switch (m.kind) {
      case 'followerInfo': {
        const voter = this.configs.votes(m.from);
        // Links are FIFO, so a FOLLOWERINFO after this learner's ACKEPOCH means it started over.
        if (voter && this.newEpoch >= 0 && this.rejectsEpoch(m.acceptedEpoch)) {
          this.goLooking();
          return;
        }
        this.learners.set(m.from, { acceptedEpoch: m.acceptedEpoch, lastZxid: m.lastZxid, synced: false, lastHeard: this.now });
        this.ackedEpoch.delete(m.from);
        this.ackedNewLeader.delete(m.from);
        if (this.newEpoch >= 0) {
          this.send({ kind: 'leaderInfo', from: this.id, to: m.from, epoch: this.newEpoch });
          return;
        }
        if (this.configs.isQuorum(new Set(this.learners.keys()))) {
          let max = 0;
          for (const [id, v] of this.learners) if (this.configs.votes(id)) max = Math.max(max, v.acceptedEpoch);
          this.newEpoch = max + 1;
          this.acceptedEpoch = this.newEpoch;
          this.persist.acceptedEpoch = this.newEpoch;
          for (const id of this.learners.keys()) {
            if (id !== this.id) this.send({ kind: 'leaderInfo', from: this.id, to: id, epoch: this.newEpoch });
          }
        }
        return;
      }
      case 'ackEpoch': {
        if (m.epoch !== this.newEpoch || !l) return;
        const knowsMore = m.currentEpoch > this.currentEpoch || (m.currentEpoch === this.currentEpoch && m.lastZxid > this.lastZxid);
        if (knowsMore && this.configs.votes(m.from)) {
          // A follower knows more than this leader: election picked wrong; start over.
          this.goLooking();
          return;
        }
        l.lastZxid = m.lastZxid;
        this.ackedEpoch.add(m.from);
        if (this.currentEpoch === this.newEpoch) {
          this.sendSync(m.from, m.lastZxid);
          l.synced = true;
          return;
        }
        // Only once a quorum confirmed that no one knows more does this history
        // become the new epoch's: a failed attempt must not inflate the epoch of a stale log.
        if (this.configs.isQuorum(new Set([...this.ackedEpoch, this.id]))) {
          this.currentEpoch = this.newEpoch;
          this.persist.currentEpoch = this.newEpoch;
          this.counter = 0;
          for (const id of this.ackedEpoch) {
            const learner = this.learners.get(id);
            if (!learner) continue;
            this.sendSync(id, learner.lastZxid);
            learner.synced = true;
          }
        }
        return;
      }
      case 'ackNewLeader': {
        if (m.epoch !== this.currentEpoch) return;
        this.ackedNewLeader.add(m.from);
        if (!this.established) {
          this.maybeEstablish();
        } else {
          this.send({ kind: 'upToDate', from: this.id, to: m.from, epoch: this.currentEpoch, commitZxid: this.committedZxid });
        }
        return;
      }
      case 'ack':
        if (m.epoch === this.currentEpoch && this.configs.votes(m.from)) this.recordAck(m.from, m.zxid);
        return;
      case 'pong':
      case 'vote':
      case 'leaderInfo':
      case 'sync':
      case 'upToDate':
      case 'proposal':
      case 'commit':
      case 'ping':
      case 'disconnected':
        return;
    }
  }

  /**
   * A voter that has accepted `acceptedEpoch` connects once this leader has
   * chosen `newEpoch`: must this leader stand down for it?
   *  - It promised a later epoch: it will never follow this one, and only a
   *    new election (which proposes max(accepted) + 1) can bring it back.
   *  - It promised this very epoch — perhaps to a rival that chose the same
   *    number — while a quorum's ACKEPOCHs are still being counted: its ack
   *    must not count twice for one epoch (two leaders of one epoch), so
   *    start over with a higher one.
   *  - It promised this epoch once that quorum is in (the epoch is this
   *    leader's currentEpoch): it is simply a follower of this epoch coming
   *    back, e.g. after a partition healed. Nothing is counted any more, so
   *    it just syncs (ZooKeeper: getEpochToPropose and waitForEpochAck return
   *    at once after discovery). Standing down here cost every such heal an
   *    election (issue 12).
   */
  private rejectsEpoch(acceptedEpoch: number): boolean {
    if (acceptedEpoch > this.newEpoch) return true;
    return acceptedEpoch === this.newEpoch && this.currentEpoch !== this.newEpoch;
  }

  /**
   * DIFF from the follower's last zxid, after a TRUNC if it holds what this
   * leader does not; SNAP when the log no longer reaches back to where the
   * two histories meet (the follower is behind the log's base, or diverged
   * with no common entry left in it).
   */
  private sendSync(to: number, followerLast: number): void {
    const base = { kind: 'sync', from: this.id, to, epoch: this.currentEpoch, commitZxid: this.committedZxid, config: this.configs.active } as const;
    const plan = planSync(this.log, this.base, followerLast);
    if (plan.kind === 'snap') {
      this.send({ ...base, truncateTo: null, snapshot: { zxid: this.base, data: null }, entries: this.log.slice() });
      return;
    }
    this.send({ ...base, truncateTo: plan.truncateTo, snapshot: null, entries: this.log.slice(plan.from) });
  }

  /** A quorum acked NEWLEADER and the leader's own log is on its disk. */
  private maybeEstablish(): void {
    if (this.established || this.newEpoch < 0 || this.currentEpoch !== this.newEpoch) return;
    if (!this.configs.isQuorum(new Set([...this.ackedNewLeader, this.id])) || this.durableZxid < this.lastZxid || this.inFlightPersistsEpoch()) return;
    this.establish();
  }

  /** The new currentEpoch is still on its way to disk. */
  private inFlightPersistsEpoch(): boolean {
    return this.persist.currentEpoch !== null || (this.inFlight?.persist.currentEpoch ?? null) !== null;
  }

  private establish(): void {
    this.established = true;
    // Pings start now, so does every learner's syncLimit: a voter that acked
    // NEWLEADER long before the quorum was in has had nothing to answer since,
    // and counting from its ack made this leader step down at its first tick
    // (ZooKeeper's leader counts learners' deadlines on a tick that only
    // advances once broadcast has begun).
    for (const l of this.learners.values()) l.lastHeard = this.now;
    // Every entry in the leader's log is on a quorum now: commit them all.
    this.commitUpTo(this.lastZxid);
    for (const id of this.ackedNewLeader) {
      this.send({ kind: 'upToDate', from: this.id, to: id, epoch: this.currentEpoch, commitZxid: this.committedZxid });
    }
  }

  private recordAck(from: number, zxid: number): void {
    if (!this.established || epochOf(zxid) !== this.currentEpoch) return;
    // An ack covers every earlier entry of this epoch too (followers log in order).
    for (let i = this.log.length - 1; i >= 0; i--) {
      const e = this.log[i] as Entry;
      if (e.zxid <= this.committedZxid) break;
      if (e.zxid > zxid) continue;
      let s = this.acks.get(e.zxid);
      if (!s) this.acks.set(e.zxid, (s = new Set()));
      s.add(from);
    }
    // Commit strictly in order: stop at the first entry without a quorum (of
    // every configuration in play for it: Configs.lastCommittable).
    const upTo = this.configs.lastCommittable(this.log, this.indexAfter(this.committedZxid), this.acks, this.committedZxid);
    if (upTo > this.committedZxid) {
      this.commitUpTo(upTo);
      for (const [id, l] of this.learners) {
        if (id !== this.id && l.synced) this.send({ kind: 'commit', from: this.id, to: id, epoch: this.currentEpoch, zxid: upTo });
      }
    }
  }

  private indexAfter(zxid: number): number {
    let lo = 0;
    let hi = this.log.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.log[mid] as Entry).zxid <= zxid) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  // ------------------------------------------------------------ follower

  private becomeFollower(leader: number): void {
    this.state = 'following';
    this.leaderId = leader;
    this.leaderEpoch = -1;
    this.followerPhase = 'discovery';
    this.serving = false;
    this.lastHeardLeader = this.now;
    this.sendFollowerInfo();
  }

  private sendFollowerInfo(): void {
    this.send({ kind: 'followerInfo', from: this.id, to: this.leaderId, acceptedEpoch: this.acceptedEpoch, lastZxid: this.lastZxid });
  }

  private onFollowerMessage(m: ZabMessage): void {
    if (m.from !== this.leaderId) return;
    // Only a leader's messages prove it leads (two followers must not keep each other alive).
    if (LEADER_KINDS.has(m.kind)) this.lastHeardLeader = this.now;
    switch (m.kind) {
      case 'leaderInfo':
        if (this.followerPhase !== 'discovery') return;
        // A voter never goes back on a promise; an observer made none.
        if (m.epoch < this.acceptedEpoch && !this.isObserver) {
          this.goLooking();
          return;
        }
        if (m.epoch !== this.acceptedEpoch) {
          this.acceptedEpoch = m.epoch;
          this.persist.acceptedEpoch = m.epoch;
        }
        this.leaderEpoch = m.epoch;
        this.followerPhase = 'sync';
        this.send({ kind: 'ackEpoch', from: this.id, to: this.leaderId, epoch: m.epoch, currentEpoch: this.currentEpoch, lastZxid: this.lastZxid });
        return;
      case 'sync': {
        if (m.epoch !== this.leaderEpoch) return;
        if (this.followerPhase === 'broadcast') {
          this.resync(m);
          return;
        }
        if (this.followerPhase !== 'sync') return;
        if (m.snapshot !== null) {
          this.installSnapshot(m.snapshot);
        } else if (m.truncateTo !== null) {
          this.truncate(m.truncateTo);
        }
        for (const e of m.entries) this.appendLocal(e);
        this.adoptConfig(m.config);
        // Entries first, then the epoch, then the ack: the host persists in that order.
        this.currentEpoch = m.epoch;
        this.persist.currentEpoch = m.epoch;
        this.followerPhase = 'broadcast';
        this.commitUpTo(Math.min(m.commitZxid, this.lastZxid));
        this.send({ kind: 'ackNewLeader', from: this.id, to: this.leaderId, epoch: m.epoch });
        return;
      }
      case 'upToDate':
        if (m.epoch !== this.leaderEpoch) return;
        this.commitUpTo(Math.min(m.commitZxid, this.lastZxid));
        this.serving = true;
        return;
      case 'proposal':
        if (m.epoch !== this.leaderEpoch || this.followerPhase !== 'broadcast') return;
        if (m.entry.zxid <= this.lastZxid) return;
        // Proposals of one epoch arrive gap-free over a FIFO link; a gap means a lost message.
        if (epochOf(this.lastZxid) === m.epoch && m.entry.zxid !== this.lastZxid + 1) {
          throw new ZabInvariantError(`member ${this.id}: proposal ${m.entry.zxid} after ${this.lastZxid}`);
        }
        this.appendLocal(m.entry);
        return;
      case 'commit':
        if (m.epoch !== this.leaderEpoch) return;
        this.commitUpTo(Math.min(m.zxid, this.lastZxid));
        return;
      case 'ping':
        if (m.epoch !== this.leaderEpoch) return;
        this.send({ kind: 'pong', from: this.id, to: this.leaderId, epoch: m.epoch });
        return;
      case 'vote':
      case 'followerInfo':
      case 'ackEpoch':
      case 'ackNewLeader':
      case 'ack':
      case 'pong':
      case 'disconnected':
        return;
    }
  }

  /**
   * A sync from this leader in this epoch after this follower already synced:
   * the leader answered an ACKEPOCH of ours twice (the simulator duplicates
   * messages), or started this learner over — a FOLLOWERINFO of ours reached
   * it after the sync we took (one of an earlier attempt's, which a Ready in
   * flight across a reconnect carried until such messages died with their
   * connection; see `disconnected`) — and sent it no proposals until this
   * sync. What this follower
   * logs came from this leader in order, so it is a prefix of the leader's
   * log: the sync's entries above our last zxid are exactly the ones missed,
   * and its TRUNC (planned from what we reported earlier) has nothing left to
   * cut. If they do not reach back to our last zxid, start over.
   */
  private resync(m: Extract<ZabMessage, { kind: 'sync' }>): void {
    const last = this.lastZxid;
    const first = m.entries[0];
    const reaches = first
      ? first.zxid <= last || (first.zxid === last + 1 && epochOf(first.zxid) === epochOf(last))
      : m.snapshot === null || m.snapshot.zxid <= last;
    if (!reaches) {
      this.goLooking();
      return;
    }
    for (const e of m.entries) if (e.zxid > this.lastZxid) this.appendLocal(e);
    this.adoptConfig(m.config);
    this.commitUpTo(Math.min(m.commitZxid, this.lastZxid));
    this.send({ kind: 'ackNewLeader', from: this.id, to: this.leaderId, epoch: m.epoch });
  }

  private truncate(zxid: number): void {
    if (zxid < this.committedZxid) throw new ZabInvariantError(`TRUNC to ${zxid} below committed ${this.committedZxid}`);
    this.log = this.log.filter((e) => e.zxid <= zxid);
    this.configs.truncated(zxid);
    this.persist.truncateTo = this.persist.truncateTo === null ? zxid : Math.min(this.persist.truncateTo, zxid);
    this.persist.entries = this.persist.entries.filter((e) => e.zxid <= zxid);
  }

  /**
   * SNAP: the leader's snapshot replaces this member's state and log. What
   * this member logged above the snapshot is not in the leader's history
   * (or it would have had a DIFF), so it is cut; what lies below stays on
   * disk until the host purges it, harmless under the newer snapshot.
   */
  private installSnapshot(snap: { zxid: number; data: Buffer | null }): void {
    if (snap.data === null) throw new ZabInvariantError(`SNAP at ${snap.zxid} arrived without its bytes (the leader's host must attach them)`);
    if (snap.zxid < this.committedZxid) throw new ZabInvariantError(`SNAP at ${snap.zxid} below committed ${this.committedZxid}`);
    this.truncate(Math.min(this.lastZxid, snap.zxid));
    this.log = [];
    this.persist.entries = [];
    // What this member logged was not the leader's history (else a DIFF): no reconfig in it is
    // pending, or committed; the sync brings the leader's configuration.
    this.configs.reset([], snap.zxid);
    this.base = snap.zxid;
    // The snapshot supersedes whatever was committed but not yet handed out.
    this.committedOut = [];
    this.committedZxid = snap.zxid;
    this.persist.snapshot = { zxid: snap.zxid, data: snap.data };
  }

  // ------------------------------------------------------------ shared

  private appendLocal(e: Entry): void {
    if (e.zxid <= this.lastZxid) throw new ZabInvariantError(`append of ${e.zxid} after ${this.lastZxid}`);
    this.log.push(e);
    this.persist.entries.push(e);
    this.configs.appended(e);
  }

  private commitUpTo(zxid: number): void {
    if (zxid <= this.committedZxid) return;
    for (let i = this.indexAfter(this.committedZxid); i < this.log.length; i++) {
      const e = this.log[i] as Entry;
      if (e.zxid > zxid) break;
      this.committedOut.push(e);
      this.acks.delete(e.zxid);
    }
    this.committedZxid = zxid;
    if (this.configs.committed(zxid)) this.configSettled = false;
  }

  /**
   * Once a configuration took effect (after the step or advance, so its commit still goes out): a leader that no
   * longer votes steps down (ZooKeeper's designates a successor; here the new configuration elects one), a follower
   * whose leader no longer votes looks for the new one; one in no configuration stays a non-voting learner (as ZK).
   */
  private settleConfig(): void {
    if (this.configSettled) return;
    this.configSettled = true;
    const voters = this.configs.active.voters;
    if ((this.state === 'leading' && !voters.includes(this.id)) || (this.state === 'following' && !voters.includes(this.leaderId))) this.goLooking();
  }

  /** A learner adopts its leader's committed configuration, never an older one (a new leader commits ours when it establishes). */
  private adoptConfig(c: QuorumConfig | undefined): void {
    if (this.configs.adopt(c, this.log, this.committedZxid)) this.configSettled = false;
  }

  private send(m: ZabMessage): void {
    this.out.push(m);
  }
}

const LEADER_KINDS: ReadonlySet<ZabMessage['kind']> = new Set(['leaderInfo', 'sync', 'upToDate', 'proposal', 'commit', 'ping']);

function emptyPersist(): PersistWork {
  return { truncateTo: null, snapshot: null, entries: [], acceptedEpoch: null, currentEpoch: null };
}
