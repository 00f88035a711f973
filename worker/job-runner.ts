/**
 * One job on one worker: the claim loop (claim as many runs as there are
 * free slots, one multi at a time, and keep claiming while slots are free),
 * each attempt from claim to finish, and the job's watches — paused, cancel
 * requests, delayed entries. Every wait is on a watch or on a slot freeing;
 * the only timers are a run's timeout, a delayed run's due time, and the
 * back-off after an error.
 */
import type { Logger } from 'pino';
import type { Coordination } from '../shared/client/coordination.ts';
import { DroverError, isDroverError } from '../shared/errors.ts';
import { appendAttempt, attemptEntry, BUNDLED_ATTEMPT_BOUNDS, RUN_ATTEMPT_BOUNDS } from '../shared/jobs/attempt-history.ts';
import type { AttemptOutcome, AttemptRecord, JobSpec, RunError, RunRecord } from '../shared/jobs/job-types.ts';
import { layout } from '../shared/jobs/layout.ts';
import { changed } from '../shared/jobs/record-copy.ts';
import { claimWaits, topUpShare } from './runs/top-up.ts';
import { BUNDLE_ERROR_CHARS_MAX, BUNDLE_RESULT_BYTES_MAX, CLAIM_BATCH_MAX, CLAIM_RUNS_MAX, RUN_ERROR_CHARS_MAX } from '../shared/jobs/limits.ts';
import { nextDueMs, promoteDue } from '../shared/jobs/recovery.ts';
import { ActiveRun } from './runs/active-run.ts';
import { BundleHolder } from './runs/bundle-holder.ts';
import { SettleBatch } from './runs/settle-batch.ts';
import { Claimer, type ClaimedRun } from './runs/claim.ts';
import type { HeldClaimGroup } from './runs/held-claim-group.ts';
import type { ExecOutcome, ExecRequest, Executor } from './runs/executor.ts';
import type { HandlerError } from './runs/handler-error.ts';
import type { FinishBatcher, FinishKind, FinishRequest, FinishResult } from './runs/finish.ts';
import { attemptsUsed, backoffDelayMs, hasAttemptsLeft } from './runs/retry-policy.ts';
import type { WorkerEvent } from './worker-events.ts';

/** What the runtime gives each of its job runners. */
export interface RunnerHost {
  readonly client: Coordination;
  readonly logger: Logger;
  readonly executor: Executor;
  readonly finisher: FinishBatcher;
  workerId(): string;
  /** Connected, registered and not draining. */
  canClaim(): boolean;
  /** Free slots of the worker's capacity. */
  freeSlots(): number;
  reserve(): void;
  release(): void;
  emit(event: WorkerEvent): void;
}

const ERROR_BACKOFF_MS = 500;
const FINISH_RETRIES_MAX = 5;
/** Runs shorter than this on average are claimed ahead. */
const PREFETCH_RUN_MS_MAX = 50;
/**
 * Bundles of short runs are claimed up to this many bundles ahead, and no
 * more than PREFETCH_HOLD_MS of work at the runs' pace: a worker runs a
 * no-op bundle in a few ms while a claim takes ~10 ms on a busy ensemble,
 * and every claim is a transaction — one claim moving many bundles is what
 * keeps the ensemble's work per run small (docs/adr/0006-run-bundles.md).
 * Measured on the 2-core bench: 4 bundles ahead ~7k jobs/s, 16 ~12-15k, 32 ~15-18k.
 */
const PREFETCH_BUNDLES = 32;
const PREFETCH_HOLD_MS = 250;
/**
 * Single short runs are claimed up to this many per slot ahead, and no more
 * than this many full claims: with a lead of one claim (4 per slot, 200 at
 * concurrency 50) each claim of no-op runs fired with a tenth of the lead
 * left, which the slots can use up before the claim is back; with two, a
 * full claim goes out while a claim's worth is still waiting. Single no-op runs,
 * 2-core bench, ABBA pairs: medians 9,469 -> 10,073 and 7,828 -> 8,216
 * jobs/s at the same txn/job (docs/jobs.md).
 */
const PREFETCH_SLOTS = 8;
const PREFETCH_CLAIMS = 2;
/** Runs claimed ahead still waiting for a slot after this long are handed back (watchHoard). */
const HOARD_MS = 1_000;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

export class JobRunner {
  readonly job: string;
  readonly active = new Map<string, ActiveRun>();
  private readonly claimer: Claimer;
  private readonly log: Logger;
  private cancels = new Set<string>();
  private readonly buffer: ClaimedRun[] = [];
  /** Bundles claimed and not yet settled, by bundle id (docs/adr/0006-run-bundles.md). */
  private readonly holders = new Map<string, BundleHolder>();
  /** Their settles, several bundles to a multi. */
  private readonly settles: SettleBatch;
  /** Claim groups with runs whose finish has not landed (held-claim-group.ts); emptied ones are dropped at the next claim. */
  private readonly groups = new Set<HeldClaimGroup>();
  /** Moving average of handler time (ms), for the prefetch decision. */
  private runMsEma: number | null = null;
  /** How long a claim that got runs took, ms (moving average): the lead kept must cover it. */
  private claimMsEma: number | null = null;
  private paused = false;
  private stopped = false;
  private loopDone: Promise<void> = Promise.resolve();
  private readonly finishing = new Set<Promise<void>>();
  private armed = { paused: false, cancels: false, delayed: false };
  private dueTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly host: RunnerHost,
    readonly spec: JobSpec,
  ) {
    this.job = spec.name;
    this.log = host.logger.child({ job: spec.name });
    this.settles = new SettleBatch(host.client);
    this.claimer = new Claimer({
      client: host.client,
      job: spec.name,
      workerId: () => host.workerId(),
      logger: this.log,
      isCancelRequested: (runId) => this.cancels.has(runId),
      stillWanted: () => !this.paused && !this.stopped && host.canClaim(),
      runsPerItem: spec.bundle ?? 1,
    });
  }

  async start(): Promise<void> {
    await Promise.all([this.armPaused(), this.armCancels(), this.armDelayed()]);
    this.loopDone = this.loop();
  }

  /** Wakes the claim loop (a slot freed, the connection came back). */
  poke(): void {
    this.drainBuffer();
    this.claimer.poke();
  }

  /** After a new session: its watches are gone; arm them again. */
  onNewSession(): void {
    this.claimer.reset();
    this.armed = { paused: false, cancels: false, delayed: false };
    void Promise.all([this.armPaused(), this.armCancels(), this.armDelayed()]).catch((err: unknown) => this.log.warn({ err }, 're-arming watches failed'));
    this.poke();
  }

  /** The holder of a claimed bundle (made by its first run). */
  private holderOf(claimed: ClaimedRun): BundleHolder | null {
    const b = claimed.bundle;
    if (!b) return null;
    let holder = this.holders.get(b.id);
    if (!holder) {
      const made = new BundleHolder(this.host.client, this.job, b, this.log, (err) => this.fenceBundle(made, err), this.settles);
      holder = made;
      this.holders.set(b.id, holder);
    }
    return holder;
  }

  /** A bundle moved on under us: its running runs stop, its claimed-ahead ones are dropped. */
  private fenceBundle(holder: BundleHolder, err: DroverError): void {
    this.holders.delete(holder.id);
    const ids = new Set(holder.runIds);
    for (const id of ids) this.active.get(id)?.abort(err);
    for (let i = this.buffer.length - 1; i >= 0; i--) {
      const c = this.buffer[i]!;
      if (c.bundle?.id === holder.id) {
        this.buffer.splice(i, 1);
        this.host.emit({ type: 'abandoned', job: this.job, runId: c.runId, code: 'DROVER_FENCED' });
      }
    }
  }

  /** Writes a run's outcome: through its bundle's holder, or the finish batcher. */
  private async writeFinish(req: FinishRequest, holder: BundleHolder | null): Promise<FinishResult> {
    if (!holder) return this.host.finisher.finish(req);
    const r = await holder.finish(req.runId, req.record, req.cancelNode);
    if (holder.done && this.holders.get(holder.id) === holder) this.holders.delete(holder.id);
    return r;
  }

  /** Aborts every attempt with `reason` (LOST: no write; shutdown: hand back). */
  abortAll(reason: DroverError): void {
    // Claimed-ahead runs: on LOST their leases are gone too (the re-queue takes them); on
    // shutdown the loop hands them back.
    if (reason.code === 'DROVER_SESSION_LOST') {
      // The claim groups' leases went with the session: recovery re-queues their runs from
      // the inflight, which no late finish of ours may close now.
      for (const g of this.groups) g.forget();
      this.groups.clear();
      this.buffer.length = 0;
      // The bundles' leases went with the session: recovery settles them now, not us.
      for (const h of this.holders.values()) h.close();
      this.holders.clear();
    }
    for (const run of this.active.values()) run.abort(reason);
  }

  /** Stops claiming; resolves when the loop has exited (attempts keep running). */
  async stopClaiming(): Promise<void> {
    this.stopped = true;
    if (this.dueTimer) clearTimeout(this.dueTimer);
    this.poke();
    await this.loopDone;
  }

  /** Resolves when every attempt has finished (and its finish was written or refused). */
  async drained(): Promise<void> {
    while (this.finishing.size > 0) await Promise.allSettled([...this.finishing]);
  }

  /**
   * How many runs to hold claimed beyond the free slots: only for short runs,
   * where a claim's round trips would otherwise leave slots idle. Runs that
   * take longer than PREFETCH_RUN_MS_MAX are not hoarded: an idle worker
   * should get them instead. Nothing is held before a first run has ended.
   */
  private prefetch(): number {
    if (this.runMsEma === null || this.runMsEma > PREFETCH_RUN_MS_MAX) return 0;
    const bundle = this.spec.bundle ?? 1;
    if (bundle > 1) {
      const byTime = Math.floor((PREFETCH_HOLD_MS * this.spec.concurrency) / Math.max(this.runMsEma, 0.01));
      return Math.min(PREFETCH_BUNDLES * Math.max(this.spec.concurrency, bundle), byTime, CLAIM_RUNS_MAX);
    }
    return Math.min(PREFETCH_SLOTS * this.spec.concurrency, PREFETCH_CLAIMS * CLAIM_BATCH_MAX);
  }

  /** Room for another run of this job now: its concurrency and the worker's capacity. */
  private slotFree(): boolean {
    return this.active.size < this.spec.concurrency && this.host.freeSlots() > 0;
  }

  /** Starts claimed-ahead runs while there are slots for them. */
  private drainBuffer(): void {
    while (this.buffer.length > 0 && this.slotFree() && !this.stopped) this.startAttempt(this.buffer.shift()!);
  }

  /**
   * Claims ahead for short runs (prefetch()): claimed runs beyond the free
   * slots wait in the buffer, leased, so a slot that frees starts the next run
   * at once instead of waiting for a claim's round trips, and each claim
   * multi moves a full batch.
   */
  private async loop(): Promise<void> {
    while (!this.stopped) {
      try {
        this.drainBuffer();
        const free = Math.max(0, Math.min(this.spec.concurrency - this.active.size, this.host.freeSlots()));
        const ahead = this.prefetch();
        const claimMax = (this.spec.bundle ?? 1) > 1 ? CLAIM_RUNS_MAX : CLAIM_BATCH_MAX;
        const want = Math.min(claimMax, free + ahead - this.buffer.length);
        // While runs claimed ahead are waiting, the next claim waits for part of the lead to be
        // used (topUpShare, claimWaits): one claim, two transactions, per part, not one per freed slot.
        const share = topUpShare({ runMs: this.runMsEma, claimMs: this.claimMsEma, concurrency: this.spec.concurrency, ahead, bundled: (this.spec.bundle ?? 1) > 1 });
        const topUp = claimWaits({ held: this.buffer.length, want, ahead, share, claimMax });
        if (!this.host.canClaim() || this.paused || want <= 0 || topUp) {
          const reason = !this.host.canClaim() ? 'disconnected' : this.paused ? 'paused' : 'full';
          this.host.emit({ type: 'waiting', job: this.job, reason });
          await this.claimer.waitForWork();
          continue;
        }
        const claimStarted = performance.now();
        const runs = await this.claimer.claim(want);
        const claimMs = performance.now() - claimStarted;
        if (runs.length > 0) this.claimMsEma = this.claimMsEma === null ? claimMs : 0.8 * this.claimMsEma + 0.2 * claimMs;
        if (runs.length === 0) {
          if (!(await this.claimer.hasWork())) {
            this.host.emit({ type: 'waiting', job: this.job, reason: 'empty' });
            await this.claimer.waitForWork();
          }
          continue;
        }
        for (const g of this.groups) if (g.size === 0) this.groups.delete(g);
        for (const run of runs) {
          this.host.emit({ type: 'claimed', job: this.job, runId: run.runId, attempt: run.record.attempt, fence: run.fence });
          if (run.group) this.groups.add(run.group);
          this.buffer.push(run);
        }
        this.drainBuffer();
        if (this.buffer.length > 0) this.watchHoard(runs);
      } catch (err) {
        if (this.stopped) break;
        this.log.warn({ err }, 'claim failed; retrying');
        // (A claim whose reply was lost is answered by the client as applied or not: nothing to adopt.)
        await sleep(ERROR_BACKOFF_MS);
      }
    }
    await this.handBackBuffer();
  }

  /**
   * Claimed-ahead runs are for runs that take a few ms. If the job's runs got
   * long since (its moving average is from the short ones), the ones claimed
   * ahead would wait in the buffer for whole runs while an idle worker could
   * take them: still waiting after HOARD_MS, they are handed back, and the
   * average is raised so the next claims take no more than the free slots.
   */
  private watchHoard(claimed: ClaimedRun[]): void {
    const timer = setTimeout(() => {
      const waiting = new Set(claimed);
      if (this.stopped || !this.buffer.some((c) => waiting.has(c))) return;
      this.runMsEma = Math.max(this.runMsEma ?? 0, HOARD_MS);
      this.log.info({ runs: this.buffer.length }, 'runs claimed ahead are waiting on long runs: handed back for other workers');
      void this.handBackBuffer((c) => waiting.has(c));
    }, HOARD_MS);
    timer.unref();
  }

  /** Claimed-ahead runs that never started go back to their lanes, not counted as attempts. */
  private async handBackBuffer(which: (c: ClaimedRun) => boolean = () => true): Promise<void> {
    const runs = this.buffer.filter(which);
    for (let i = this.buffer.length - 1; i >= 0; i--) if (which(this.buffer[i]!)) this.buffer.splice(i, 1);
    await Promise.all(
      runs.map(async (c) => {
        const record = changed(c.record, { state: 'queued', worker: undefined, freeAttempts: (c.record.freeAttempts ?? 0) + 1 });
        const req: FinishRequest = { job: this.job, runId: c.runId, version: c.version, record, kind: 'handback' };
        if (c.group) req.group = c.group;
        const r = await this.writeFinish(req, this.holderOf(c));
        this.host.emit(r.ok ? { type: 'finished', job: this.job, runId: c.runId, kind: 'handback', attempt: c.record.attempt } : { type: 'abandoned', job: this.job, runId: c.runId, code: 'DROVER_FENCED' });
      }),
    );
  }

  private startAttempt(claimed: ClaimedRun): void {
    this.host.reserve();
    const run = new ActiveRun(this.host.client, claimed, this.log, this.holderOf(claimed));
    this.active.set(run.runId, run);
    // The slot frees once the handler is done, before its finish is written: the next claim
    // overlaps the finish multi instead of waiting for it (the finish needs no slot).
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      this.active.delete(run.runId);
      this.host.release();
    };
    const done = (): void => {
      release();
      this.finishing.delete(p);
    };
    const p: Promise<void> = this.attempt(run, release).then(done, (err: unknown) => {
      this.log.error({ err, runId: run.runId }, 'attempt bookkeeping failed');
      done();
    });
    this.finishing.add(p);
  }

  private async attempt(run: ActiveRun, release: () => void): Promise<void> {
    if (this.cancels.has(run.runId)) run.abort(new DroverError('DROVER_CANCELLED', 'cancelled'));
    const timeoutMs = this.spec.timeoutMs;
    const timer = timeoutMs
      ? setTimeout(() => run.abort(new DroverError('DROVER_TIMEOUT', `attempt ${run.record.attempt} exceeded timeoutMs ${timeoutMs}`)), timeoutMs)
      : null;
    // Made on first use: a run that ends well logs nothing here.
    const runLog = (): Logger => (run.runLog ??= this.log.child({ runId: run.runId, attempt: run.record.attempt }));
    const execReq: ExecRequest = { job: this.job, runId: run.runId, input: run.record.input, attempt: run.record.attempt, fence: run.fence };
    if (run.record.partition !== undefined) execReq.partition = run.record.partition;
    const startedAt = Date.now();
    // The handler's outcome, or the abort if it comes first: a handler that ignores its
    // signal does not hold the attempt (its late result is dropped).
    const outcome = await new Promise<ExecOutcome | null>((resolve, reject) => {
      run.latch.onAbort(() => resolve(null));
      // The run is the hooks: its progress and log methods, no closures per attempt.
      this.host.executor.execute(execReq, run, run.latch).then(resolve, reject);
    });
    const ms = Date.now() - startedAt;
    this.runMsEma = this.runMsEma === null ? ms : 0.8 * this.runMsEma + 0.2 * ms;
    if (timer) clearTimeout(timer);
    const writing = run.settle();
    if (writing) await writing;
    const req = this.finishRequest(run, outcome, runLog);
    if (!req) {
      const code = run.abortReason?.code ?? 'DROVER_FENCED';
      // Fenced: someone else's now, so it no longer holds its group open. Lost: the group stays
      // (forgotten by abortAll) for recovery to re-queue from.
      if (code === 'DROVER_FENCED' && run.group) this.host.finisher.leave(run.group, run.runId);
      this.host.emit({ type: 'abandoned', job: this.job, runId: run.runId, code });
      return;
    }
    const finishing = this.writeFinish(req, run.holder);
    release();
    let result = await finishing;
    // A finish lost to the connection is tried again: it stays conditional on the fence, so a
    // late one is refused if the run moved on, and otherwise our live lease would strand the run.
    for (let tries = 1; !result.ok && !isDroverError(result.error, 'DROVER_FENCED') && tries <= FINISH_RETRIES_MAX; tries++) {
      runLog().warn({ err: result.error, tries }, 'finish failed; trying again');
      await sleep(ERROR_BACKOFF_MS * tries);
      result = await this.writeFinish(req, run.holder);
    }
    if (!result.ok) {
      const code = result.error instanceof DroverError ? result.error.code : 'ERROR';
      if (code !== 'DROVER_FENCED') runLog().error({ err: result.error }, 'finish failed for good; the run is recovered when its lease goes');
      this.host.emit({ type: 'abandoned', job: this.job, runId: run.runId, code });
      return;
    }
    this.host.emit({ type: 'finished', job: this.job, runId: run.runId, kind: req.kind, attempt: run.record.attempt });
  }

  /** The finish of `run` as `kind` with `record` (a cancel request that came too late goes with it). */
  private finishOf(run: ActiveRun, kind: FinishKind, record: RunRecord): FinishRequest {
    const req: FinishRequest = { job: this.job, runId: run.runId, version: run.version, record, kind };
    if (run.group) req.group = run.group;
    if (this.cancels.has(run.runId)) req.cancelNode = layout.cancel(this.job, run.runId);
    return req;
  }

  /** The run's attempt history with the attempt it is on ended as `outcome` (every attempt that did not succeed gets one). */
  private historyWith(run: ActiveRun, now: number, outcome: AttemptOutcome, error?: HandlerError | RunError, free?: boolean): AttemptRecord[] {
    const bounds = run.holder ? BUNDLED_ATTEMPT_BOUNDS : RUN_ATTEMPT_BOUNDS;
    return appendAttempt(run.record.attempts, attemptEntry(run.record, { outcome, finishedAt: now, ...(error ? { error } : {}), ...(free ? { free } : {}) }, bounds), bounds);
  }

  /** What to write for an attempt's outcome; null when nothing may be written. */
  private finishRequest(run: ActiveRun, outcome: ExecOutcome | null, runLog: () => Logger): FinishRequest | null {
    const now = Date.now();
    // The common case first, without the closures the others need: no history entry, no stack.
    if (outcome !== null && outcome.ok) {
      // A bundled run's result shares the bundle's znode: it gets a small, fixed share.
      if (run.holder && outcome.bytes > BUNDLE_RESULT_BYTES_MAX) {
        const error = { code: 'DROVER_PAYLOAD_TOO_LARGE', message: `the result is ${outcome.bytes} bytes as JSON; a bundled run's limit is ${BUNDLE_RESULT_BYTES_MAX}` };
        return this.finishOf(run, 'failed', changed(run.record, { finishedAt: now, state: 'failed', error, attempts: this.historyWith(run, now, 'failed', error) }));
      }
      return this.finishOf(run, 'succeeded', changed(run.record, { finishedAt: now, state: 'succeeded', result: outcome.result, error: undefined }));
    }
    const base = changed(run.record, { finishedAt: now });
    const make = (kind: FinishKind, record: RunRecord): FinishRequest => this.finishOf(run, kind, record);
    const ended = (kind: AttemptOutcome, error?: HandlerError, free?: boolean): AttemptRecord[] => this.historyWith(run, now, kind, error, free);
    const errorChars = run.holder ? BUNDLE_ERROR_CHARS_MAX : RUN_ERROR_CHARS_MAX;
    const runError = (e: HandlerError): RunError => {
      const out: RunError = { code: e.code, message: e.message.slice(0, errorChars) };
      if (e.name !== undefined) out.name = e.name;
      return out;
    };
    const failure = (error: HandlerError): FinishRequest => {
      if (this.cancels.has(run.runId)) return cancelled(); // no retry for a run someone cancelled
      const err = runError(error);
      const attempts = ended('failed', error);
      if (!error.noRetry && hasAttemptsLeft(run.record)) {
        const dueAt = now + backoffDelayMs(this.spec.backoff, attemptsUsed(run.record));
        const rec = changed(run.record, { state: 'delayed', dueAt, error: err, attempts });
        runLog().info({ code: err.code, dueAt }, 'attempt failed; retrying');
        return make('retry', rec);
      }
      // A NonRetryableError ends the run as a last attempt would: dead-lettered.
      runLog().warn({ code: err.code }, error.noRetry ? 'attempt failed and asked not to be retried: dead-lettered' : 'attempt failed; no attempts left: dead-lettered');
      return make('dead', changed(base, { state: 'dead', error: err, attempts }));
    };
    const cancelled = (): FinishRequest => {
      const error = { code: 'DROVER_CANCELLED', message: 'cancelled while running' };
      return make('cancelled', changed(base, { state: 'cancelled', error, attempts: ended('cancelled', error) }));
    };
    const handBack = (error?: HandlerError): FinishRequest => {
      if (this.cancels.has(run.runId)) return cancelled();
      return make('handback', changed(run.record, { worker: undefined, state: 'queued', freeAttempts: (run.record.freeAttempts ?? 0) + 1, attempts: ended('handed-back', error, true) }));
    };
    if (outcome === null) {
      const reason = run.abortReason;
      switch (reason?.code) {
        case 'DROVER_TIMEOUT':
          return failure({ code: reason.code, name: reason.name, message: reason.message });
        case 'DROVER_CANCELLED':
          return cancelled();
        case 'DROVER_CLOSED':
          return handBack();
        default:
          return null; // fenced or session lost: the run is someone else's business now
      }
    }
    if (outcome.permanent) return make('failed', changed(base, { state: 'failed', error: runError(outcome.error), attempts: ended('failed', outcome.error) }));
    if (outcome.handBack) return handBack(outcome.error);
    return failure(outcome.error);
  }

  private async rearm(what: keyof JobRunner['armed'], fn: () => Promise<void>): Promise<void> {
    for (let tries = 0; !this.stopped; tries++) {
      try {
        await fn();
        return;
      } catch (err) {
        this.armed[what] = false;
        if (tries > 0 && tries % 10 === 0) this.log.warn({ err, what }, 'cannot arm a watch yet');
        await sleep(ERROR_BACKOFF_MS);
      }
    }
  }

  private armPaused(): Promise<void> {
    return this.rearm('paused', async () => {
      const watch = !this.armed.paused;
      this.armed.paused = true;
      const stat = await this.host.client.exists(
        layout.jobPaused(this.job),
        watch
          ? (event) => {
              // At once, not after the re-read: the event comes before any read that shows
              // later writes (a run enqueued after the pause), so no claim slips through.
              this.paused = event.type !== 'deleted';
              this.armed.paused = false;
              if (this.paused) void this.handBackBuffer();
              void this.armPaused();
            }
          : undefined,
      );
      this.paused = stat !== null;
      this.poke();
    });
  }

  private armCancels(): Promise<void> {
    return this.rearm('cancels', async () => {
      const watch = !this.armed.cancels;
      this.armed.cancels = true;
      const names = await this.host.client.children(
        layout.cancels(this.job),
        watch
          ? () => {
              this.armed.cancels = false;
              void this.armCancels();
            }
          : undefined,
      );
      this.cancels = new Set(names);
      for (const runId of names) this.active.get(runId)?.abort(new DroverError('DROVER_CANCELLED', 'cancelled'));
    });
  }

  /** Delayed runs (retries with backoff) come due on a timer; any worker of the job may promote them. */
  private armDelayed(): Promise<void> {
    return this.rearm('delayed', async () => {
      const watch = !this.armed.delayed;
      this.armed.delayed = true;
      const due = await nextDueMs(
        this.host.client,
        this.job,
        watch
          ? () => {
              this.armed.delayed = false;
              void this.armDelayed();
            }
          : undefined,
      );
      if (this.dueTimer) clearTimeout(this.dueTimer);
      this.dueTimer = null;
      if (due === null || this.stopped) return;
      this.dueTimer = setTimeout(() => void this.promote(), Math.max(0, due - Date.now()));
      this.dueTimer.unref();
    });
  }

  private async promote(): Promise<void> {
    if (this.stopped) return;
    try {
      if (this.host.canClaim()) await promoteDue(this.host.client, this.job, Date.now());
      else await sleep(ERROR_BACKOFF_MS);
    } catch (err) {
      this.log.warn({ err }, 'promoting delayed runs failed');
    }
    await this.armDelayed();
  }
}
