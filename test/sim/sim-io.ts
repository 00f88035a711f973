/**
 * The simulator's `Disk` and `Clock` for the production `Member`
 * (coordinator/member/member.ts): a disk whose fsyncs complete when the
 * harness says (a crash loses what was not yet durable) and a clock that is
 * the step counter, ticking when the harness says. Both answer synchronously,
 * so the member's loop runs deterministically inside the harness's steps.
 */
import type { PersistedState, PersistWork } from '../../coordinator/zab/messages.ts';
import type { QuorumConfig } from '../../coordinator/zab/quorum.ts';
import type { Clock, Disk } from '../../coordinator/member/member.ts';

export interface SimSnapshot {
  zxid: number;
  data: Buffer;
}

/** What a member's disk holds durably (it outlives crashes). */
export interface Store extends PersistedState {
  /** Durable snapshots, oldest first; the log holds what comes after the oldest. */
  snapshots: SimSnapshot[];
  /** The configuration the member last had in force (its zoo.cfg.dynamic file); null: the initial one. */
  config?: QuorumConfig | null;
}

/** A disk answer that arrives at a later step: the harness resolves it, synchronously. */
class Later implements PromiseLike<void> {
  private ok: ((v: void) => unknown) | null = null;
  then<A = void, B = never>(ok?: ((v: void) => A | PromiseLike<A>) | null): PromiseLike<A | B> {
    this.ok = ok ?? null;
    return this as unknown as PromiseLike<A | B>;
  }
  resolve(): void {
    this.ok?.(undefined);
  }
}

/**
 * One life's disk: a Ready's writes reach the store only when its fsync
 * completes, some steps later (or at once); a crash drops this object, and
 * with it what was not yet durable.
 */
export class SimDisk implements Disk {
  private pending: { work: PersistWork; doneAt: number; done: Later } | null = null;

  constructor(
    private readonly store: Store,
    private readonly now: () => number,
    /** Steps the next fsync takes. */
    private readonly fsyncDelay: () => number,
    /** A Ready was just taken (its persist starts right away). */
    private readonly onTaken: () => void,
  ) {}

  persist(work: PersistWork): undefined | Later {
    this.onTaken();
    const doneAt = this.now() + this.fsyncDelay();
    if (doneAt === this.now()) {
      this.write(work);
      return undefined;
    }
    const done = new Later();
    this.pending = { work, doneAt, done };
    return done;
  }

  /** Completes the fsync in hand if it is due (the member then goes on with that Ready). */
  complete(): void {
    const p = this.pending;
    if (!p || this.now() < p.doneAt) return;
    this.pending = null;
    this.write(p.work);
    p.done.resolve();
  }

  readSnapshot(zxid: number): Buffer | null {
    return this.store.snapshots.find((s) => s.zxid === zxid)?.data ?? null;
  }

  private write(p: PersistWork): void {
    const d = this.store;
    if (p.truncateTo !== null) d.log = d.log.filter((e) => e.zxid <= (p.truncateTo as number));
    if (p.snapshot !== null) {
      d.snapshots = [p.snapshot];
      d.log = d.log.filter((e) => e.zxid > (p.snapshot as SimSnapshot).zxid);
    }
    for (const e of p.entries) d.log.push(e);
    if (p.acceptedEpoch !== null) d.acceptedEpoch = p.acceptedEpoch;
    if (p.currentEpoch !== null) d.currentEpoch = p.currentEpoch;
  }
}

/** Simulated time: the step counter; the member's tick timer fires when the harness says (skewed rates). */
export class SimClock implements Clock {
  private tick: (() => void) | null = null;
  constructor(readonly now: () => number) {}
  every(_ms: number, fn: () => void): () => void {
    this.tick = fn;
    return () => (this.tick = null);
  }
  fire(): void {
    this.tick?.();
  }
}
