/**
 * One ensemble member's edge loop around ZabPeer, over injected `Disk`,
 * `Links` and `Clock` (ADR 0003): the real ones in production
 * (`member-adapters.ts`), simulated ones in test/sim/. Inputs (ticks, peer
 * messages, proposals) go into the pure peer; each Ready is handled in
 * order — persist (durable), then send its messages, then apply its
 * committed entries, then advance — one Ready at a time. Messages of a Ready
 * to a member whose `disconnected` was stepped in after the Ready was taken
 * are dropped (they died with that connection; Ready.messages). A SNAP's
 * snapshot bytes are read from the disk after the persist, when the message
 * is sent: compaction runs only between Readies, so the snapshot the peer
 * named is still there. The member's role (leader, follower, looking) is
 * derived here and handed to the replica it feeds.
 *
 * The loop is written once, as a generator that yields only when the disk
 * answers later: with promises (production) it runs as an async loop, with a
 * simulated disk that answers at a later step (or at once) it runs
 * synchronously and deterministically under the simulator's control.
 */
import { ZabPeer, type ZabConfig } from '../zab/peer.ts';
import type { PersistWork, PersistedState, Ready, ZabMessage } from '../zab/messages.ts';
import { hexZxid } from '../zab/zxid.ts';

/** A value now, or later. */
export type MaybeAsync<T> = T | PromiseLike<T>;

/** The member's durable storage. */
export interface Disk {
  /**
   * Makes a Ready's persist work durable, in this order: TRUNC, a SNAP's
   * snapshot (replacing the log below it), the log entries, the epochs.
   * Done means fsynced: the Ready's messages leave only after.
   */
  persist(work: PersistWork): MaybeAsync<void>;
  /** The bytes of a snapshot this member holds, or null. */
  readSnapshot(zxid: number): MaybeAsync<Buffer | null>;
}

/** What travels between members (`disconnected` comes from the transport, never the wire). */
export type WireMessage = Exclude<ZabMessage, { kind: 'disconnected' }>;

/** The connections to the other members (each FIFO while it lasts). */
export interface Links {
  /**
   * Sends on the current connection to `m.to` (a SNAP's bytes attached).
   * What arrives is handed to `Member.receive`, a broken connection to
   * `Member.disconnected`.
   */
  send(m: WireMessage): void;
}

export interface Clock {
  now(): number;
  /** Calls `fn` every `ms` until the returned function is called. */
  every(ms: number, fn: () => void): () => void;
}

export type MemberRole = 'leader' | 'follower' | 'looking';

/** What the member replicates into (the ZooKeeper server, or the simulator's key-value state). */
export interface Replica {
  /**
   * A Ready is durable and sent: install its SNAP snapshot if it has one
   * (`r.persist.snapshot`), then apply `r.committed` in order. Runs before
   * the peer advances.
   */
  apply(r: Ready): void;
  /** After the peer advanced past `r` (between Readies: may compact the log). */
  afterAdvance?(r: Ready): void;
  /** Before a role change, inside the loop: e.g. rebuild state applied ahead of the commit point. */
  prepareRole?(was: MemberRole): MaybeAsync<void>;
  /** The member now serves as `role` (read after `prepareRole`). */
  roleChanged(role: MemberRole, was: MemberRole): void;
}

/** The parts of a logger the member uses (pino's fits). */
export interface MemberLog {
  info(obj: object, msg: string): void;
  fatal(obj: object, msg: string): void;
}

export interface MemberOptions {
  zab: ZabConfig;
  persisted: PersistedState;
  disk: Disk;
  links: Links;
  clock: Clock;
  replica: Replica;
  log: MemberLog;
  /** Milliseconds between peer ticks (`Clock.every`). */
  tickMs: number;
  /** Called on every tick after the peer's, before the loop runs (e.g. session expiry). */
  onTick?: () => void;
  /**
   * Run the loop as soon as an input arrives (production). False: the host
   * calls `pump()` itself (the simulator, once per step, after delivering
   * that step's messages and ticks).
   */
  pumpOnInput?: boolean;
  /** The loop failed (a disk error, an invariant): the member runs no more Readies. */
  onFailed?: (err: Error) => void;
}

type Yielded = PromiseLike<unknown>;
type Loop = Generator<Yielded, void, unknown>;
type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

function isThenable<T>(v: MaybeAsync<T>): v is PromiseLike<T> {
  return v !== undefined && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

/** For members whose logs nobody reads (the simulator's). */
export const silentMemberLog: MemberLog = { info: () => {}, fatal: () => {} };

export class Member {
  readonly peer: ZabPeer;
  private readonly disk: Disk;
  private readonly links: Links;
  private readonly clock: Clock;
  private readonly replica: Replica;
  private readonly log: MemberLog;
  private readonly pumpOnInput: boolean;
  private readonly onFailed: ((err: Error) => void) | undefined;
  private currentRole: MemberRole = 'looking';
  /** `disconnected` events stepped into the peer, and the count at the last from each member (see Ready.messages). */
  private disconnects = 0;
  private readonly lastDisconnect = new Map<number, number>();
  private busy = false;
  private again = false;
  private quitting = false;
  private failure: Error | null = null;
  private electionStarted: number;
  private readonly chores: { run: () => MaybeAsync<void>; resolve: () => void; reject: (err: unknown) => void }[] = [];
  private idleWaiters: (() => void)[] = [];
  private stopTicks: (() => void) | null = null;
  private readonly tickMs: number;
  private readonly onTick: (() => void) | undefined;

  constructor(opts: MemberOptions) {
    this.peer = new ZabPeer(opts.zab, opts.persisted);
    this.disk = opts.disk;
    this.links = opts.links;
    this.clock = opts.clock;
    this.replica = opts.replica;
    this.log = opts.log;
    this.pumpOnInput = opts.pumpOnInput ?? true;
    this.onFailed = opts.onFailed;
    this.electionStarted = this.clock.now();
    this.tickMs = opts.tickMs;
    this.onTick = opts.onTick;
  }

  /** Starts ticking (once the links are up). */
  start(): void {
    if (this.stopTicks || this.quitting) return;
    this.stopTicks = this.clock.every(this.tickMs, () => {
      this.peer.tick();
      this.onTick?.();
      this.wake();
    });
  }

  /** What the member serves as now. */
  get role(): MemberRole {
    return this.currentRole;
  }

  // ------------------------------------------------------------ inputs

  /** A message from another member. */
  receive(m: ZabMessage): void {
    if (m.kind === 'disconnected') {
      // Only the transport says so, and the loop must count it (Ready.messages).
      this.disconnected(m.from);
      return;
    }
    this.peer.step(m);
    this.wake();
  }

  /** The connection to `from` broke. */
  disconnected(from: number): void {
    this.lastDisconnect.set(from, ++this.disconnects);
    this.peer.step({ kind: 'disconnected', from, to: this.peer.id });
    this.wake();
  }

  /** A leader's proposal; null if this member does not lead (an established leader). */
  propose(data: Buffer): number | null {
    const zxid = this.peer.propose(data);
    this.wake();
    return zxid;
  }

  /**
   * Compacts the peer's log to a durable snapshot of committed state. Only
   * between Readies: from `Replica.afterAdvance` or `inReadyLoop`.
   */
  compact(zxid: number): void {
    this.peer.compact(zxid);
  }

  /** Runs `run` inside the Ready loop, between two Readies. */
  inReadyLoop(run: () => MaybeAsync<void>): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.failure || this.quitting) {
        reject(new Error('member stopped'));
        return;
      }
      this.chores.push({ run, resolve, reject });
      this.wake();
    });
  }

  /** Stops ticking and running Readies; resolves once the Ready in hand is done. */
  async stop(): Promise<void> {
    this.quitting = true;
    this.stopTicks?.();
    this.stopTicks = null;
    await this.idle();
    for (const chore of this.chores.splice(0)) chore.reject(new Error('member stopped'));
  }

  /** Resolves when no Ready is in hand. */
  idle(): Promise<void> {
    if (!this.busy) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private wake(): void {
    if (this.pumpOnInput) this.pump();
  }

  // ------------------------------------------------------------ the Ready loop

  /** Runs the loop if there is work and it is not running (if it is, it looks again before it stops). */
  pump(): void {
    if (this.failure || this.quitting) return;
    if (this.busy) {
      this.again = true;
      return;
    }
    if (this.chores.length === 0 && !this.peer.hasReady() && this.desiredRole() === this.currentRole) return;
    this.busy = true;
    this.resume(this.loop(), { ok: true, value: undefined });
  }

  /** Drives the loop's generator until it waits for the disk (resumed from its callback) or ends. */
  private resume(gen: Loop, input: Outcome): void {
    let next: Outcome | null = input;
    while (next) {
      let r: IteratorResult<Yielded, void>;
      try {
        r = next.ok ? gen.next(next.value) : gen.throw(next.error);
      } catch (err) {
        this.fail(err);
        return;
      }
      if (r.done) {
        this.busy = false;
        for (const w of this.idleWaiters.splice(0)) w();
        return;
      }
      let sync = true;
      let settled: Outcome | null = null;
      r.value.then(
        (value) => {
          if (sync) settled = { ok: true, value };
          else this.resume(gen, { ok: true, value });
        },
        (error: unknown) => {
          if (sync) settled = { ok: false, error };
          else this.resume(gen, { ok: false, error });
        },
      );
      sync = false;
      next = settled;
    }
  }

  private fail(err: unknown): void {
    this.failure = err instanceof Error ? err : new Error(String(err));
    this.busy = false;
    for (const chore of this.chores.splice(0)) chore.reject(this.failure);
    for (const w of this.idleWaiters.splice(0)) w();
    this.log.fatal({ err: this.failure }, 'member failed; stopping');
    this.onFailed?.(this.failure);
  }

  private *loop(): Loop {
    do {
      this.again = false;
      for (let chore = this.chores.shift(); chore; chore = this.chores.shift()) {
        try {
          const done = chore.run();
          if (isThenable(done)) yield done;
          chore.resolve();
        } catch (err) {
          chore.reject(err);
        }
      }
      while (!this.quitting && this.peer.hasReady()) {
        const r = this.peer.ready();
        const takenAt = this.disconnects;
        // `yield` is the loop's `await`; a disk that answers at once (the simulator's, at times) is not waited for.
        const durable = this.disk.persist(r.persist);
        if (isThenable(durable)) yield durable;
        for (const m of r.messages) {
          if (m.kind === 'disconnected' || this.gone(m, takenAt)) continue;
          if (m.kind !== 'sync') {
            this.links.send(m);
            continue;
          }
          const mode = m.snapshot !== null ? 'SNAP' : m.truncateTo !== null ? 'TRUNC+DIFF' : 'DIFF';
          this.log.info(
            { follower: m.to, mode, snapshotZxid: m.snapshot ? hexZxid(m.snapshot.zxid) : undefined, entries: m.entries.length },
            `synchronizing follower ${m.to} by ${mode}`,
          );
          if (m.snapshot === null || m.snapshot.data !== null) {
            this.links.send(m);
            continue;
          }
          // A SNAP leaves with the snapshot its peer named (the peer never holds the bytes).
          const zxid = m.snapshot.zxid;
          const read = this.disk.readSnapshot(zxid);
          const data = isThenable(read) ? ((yield read) as Buffer | null) : read;
          if (!data) throw new Error(`SNAP names snapshot ${hexZxid(zxid)}, which this member does not hold`);
          // Reading a snapshot takes a while: the link may have gone meanwhile.
          if (!this.gone(m, takenAt)) this.links.send({ ...m, snapshot: { zxid, data } });
        }
        this.replica.apply(r);
        this.peer.advance(r);
        this.replica.afterAdvance?.(r);
        if (this.desiredRole() !== this.currentRole) yield* this.updateRole();
      }
      if (this.desiredRole() !== this.currentRole) yield* this.updateRole();
    } while (!this.quitting && (this.again || this.chores.length > 0));
  }

  /**
   * Meant for a link that broke since the Ready was taken (when `takenAt` disconnects had been
   * heard), it died with that link: sent on the next one, an answer to a learner's earlier attempt
   * would meet its later one (Ready.messages). Votes are not tied to a connection.
   */
  private gone(m: ZabMessage, takenAt: number): boolean {
    return m.kind !== 'vote' && (this.lastDisconnect.get(m.to) ?? 0) > takenAt;
  }

  private desiredRole(): MemberRole {
    return this.peer.isServing ? (this.peer.state === 'leading' ? 'leader' : 'follower') : 'looking';
  }

  private *updateRole(): Loop {
    const was = this.currentRole;
    const prepared = this.replica.prepareRole?.(was);
    if (isThenable(prepared)) yield prepared;
    // Read again: the peer may have moved on meanwhile.
    const desired = this.desiredRole();
    this.currentRole = desired;
    this.replica.roleChanged(desired, was);
    const now = this.clock.now();
    const p = this.peer;
    this.log.info(
      { role: desired, was, leader: p.leader, epoch: p.epoch, zxid: hexZxid(p.lastZxid), electionMs: desired === 'looking' ? undefined : now - this.electionStarted },
      desired === 'looking' ? 'left service; electing' : `serving as ${desired}`,
    );
    if (desired === 'looking') this.electionStarted = now;
  }
}
