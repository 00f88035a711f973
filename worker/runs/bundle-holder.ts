/**
 * One claimed bundle on this worker (docs/adr/0006-run-bundles.md): the
 * bundle record as this attempt sees it, and every write to it. Its runs
 * run in their own slots; their progress, logs and finishes all land here
 * and go out together — at most one write in flight, the next one carrying
 * whatever changed meanwhile — each conditional on the bundle's version,
 * the fence of all its runs.
 *
 * Contract:
 *   touch   a run's progress/log changed: a record set within PROGRESS_INTERVAL_MS
 *   finish  a run's outcome: written with progress, within PROGRESS_INTERVAL_MS
 *           (a bundle's runs ending one by one must not each rewrite the
 *           whole bundle); resolves once written. The last outcome of the
 *           attempt goes out on the next tick, as the settle multi: record (settleBundle), lease and
 *           inflight deleted, cancel requests of cancelled runs deleted, dead
 *           entries of newly dead runs, the placement (history / delayed / lane)
 *   fenced  BAD_VERSION or NO_NODE on the record (never our own write whose
 *           reply was lost: the client answers that one as applied,
 *           write-witness.ts): every waiting finish resolves DROVER_FENCED and
 *           onFenced aborts the bundle's running runs
 *   lost    other errors (the connection): the waiting finishes resolve with
 *           the error and the caller tries again; nothing is lost, the state
 *           stays here and the next write carries it
 */
import type { Logger } from 'pino';
import type { Coordination, Op } from '../../shared/client/coordination.ts';
import { isZkError, ZkError } from '../../shared/client/zk-error.ts';
import { DroverError } from '../../shared/errors.ts';
import { newlyDeadOps, placementOps, settleBundle, type Settled } from '../../shared/jobs/bundle-settle.ts';
import type { BundleRecord, RunRecord } from '../../shared/jobs/job-types.ts';
import { layout } from '../../shared/jobs/layout.ts';
import { PROGRESS_INTERVAL_MS } from '../../shared/jobs/limits.ts';
import { commitWithRetry } from '../../shared/jobs/queue-append.ts';
import { encodeBundle } from '../../shared/jobs/run-codec.ts';
import { changed } from '../../shared/jobs/record-copy.ts';
import type { ClaimedBundle } from './claim.ts';
import type { FinishResult } from './finish.ts';
import type { SettleBatch } from './settle-batch.ts';

interface Waiter {
  runId: string;
  resolve: (r: FinishResult) => void;
}

export class BundleHolder {
  readonly id: string;
  private record: BundleRecord;
  private version: number;
  /** The record as claimed: what "newly dead" is measured against. */
  private readonly claimedRecord: BundleRecord;
  private readonly attemptRuns: Set<string>;
  private readonly outcomes = new Set<string>();
  private readonly cancelNodes = new Set<string>();
  private waiters: Waiter[] = [];
  private writing = false;
  private again = false;
  private scheduled = false;
  private timer: NodeJS.Timeout | null = null;
  private lastWriteAt = 0;
  private closed = false;

  constructor(
    private readonly client: Coordination,
    private readonly job: string,
    claimed: ClaimedBundle,
    private readonly logger: Logger,
    private readonly onFenced: (err: DroverError) => void,
    private readonly batch: SettleBatch | null = null,
  ) {
    this.id = claimed.id;
    // The claim just wrote the record: the first outcome waits for the interval like any other,
    // so a bundle whose runs all end within it is written once, by its settle.
    this.lastWriteAt = Date.now();
    this.record = changed(claimed.record, { runs: claimed.record.runs.slice() });
    this.claimedRecord = claimed.record;
    this.version = claimed.version;
    this.attemptRuns = new Set(claimed.runIds);
  }

  /** True once the settle multi is written, or the bundle was fenced or given up. */
  get done(): boolean {
    return this.closed;
  }

  /** The runs of this attempt. */
  get runIds(): string[] {
    return [...this.attemptRuns];
  }

  private indexOf(runId: string): number {
    // Run k of bundle B is `B.k`: its index is in its id.
    const k = Number(runId.slice(this.id.length + 1));
    const i = this.record.runs[k]?.id === runId ? k : this.record.runs.findIndex((r) => r.id === runId);
    if (i < 0) throw new Error(`bundle ${this.id} has no run ${runId}`);
    return i;
  }

  /** In place: the record is ours alone, and each write encodes it to bytes when it goes. */
  private put(runId: string, record: RunRecord): void {
    this.record.runs[this.indexOf(runId)] = record;
  }

  /** A run's progress or logs changed: written within PROGRESS_INTERVAL_MS. */
  touch(runId: string, record: RunRecord): void {
    if (this.closed || this.outcomes.has(runId)) return;
    this.put(runId, record);
    this.schedule();
  }

  /** A write within PROGRESS_INTERVAL_MS of the last one (unless one is already due). */
  private schedule(): void {
    if (this.timer || this.scheduled) return;
    const wait = Math.max(0, this.lastWriteAt + PROGRESS_INTERVAL_MS - Date.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.kick();
    }, wait);
  }

  /** A run's outcome (its record with the final state); resolves once it is written. */
  finish(runId: string, record: RunRecord, cancelNode?: string): Promise<FinishResult> {
    if (this.closed) return Promise.resolve({ ok: false, error: this.closedError() });
    this.put(runId, record);
    this.outcomes.add(runId);
    if (cancelNode) this.cancelNodes.add(cancelNode);
    return new Promise((resolve) => {
      this.waiters.push({ runId, resolve });
      // The bundle's runs ending one after another would each rewrite the whole bundle: an
      // outcome waits with progress (within PROGRESS_INTERVAL_MS), and the last one of the
      // attempt goes out on the next tick, as the settle.
      if (!this.allSettled()) {
        this.schedule();
        return;
      }
      if (this.timer) {
        clearTimeout(this.timer);
        this.timer = null;
      }
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.kick();
        });
      }
    });
  }

  /** Stops all writes (the session was lost: the runs are recovery's now). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.resolveAll({ ok: false, error: this.closedError() });
  }

  private closedError(): DroverError {
    return new DroverError('DROVER_FENCED', `bundle ${this.id} of '${this.job}' is no longer held by this worker`);
  }

  private resolveAll(r: FinishResult): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.resolve(r);
  }

  private kick(): void {
    if (this.closed) return;
    if (this.writing) {
      this.again = true;
      return;
    }
    this.writing = true;
    void this.writeLoop();
  }

  private async writeLoop(): Promise<void> {
    try {
      do {
        this.again = false;
        if (this.timer) {
          clearTimeout(this.timer);
          this.timer = null;
        }
        await this.writeOnce();
      } while (this.again && !this.closed);
    } finally {
      this.writing = false;
    }
  }

  private allSettled(): boolean {
    for (const id of this.attemptRuns) if (!this.outcomes.has(id)) return false;
    return true;
  }

  private async writeOnce(): Promise<void> {
    if (this.closed) return;
    const waiters = this.waiters;
    this.waiters = [];
    const final = this.allSettled();
    this.lastWriteAt = Date.now();
    try {
      if (final) await this.writeSettle();
      else {
        const data = encodeBundle(this.record);
        const stat = await this.client.set(layout.run(this.job, this.id), data, this.version);
        this.version = stat.version;
      }
      for (const w of waiters) w.resolve({ ok: true });
      if (final) this.closed = true;
    } catch (err) {
      const fence = err instanceof ZkError && (err.opIndex === undefined || err.opIndex === 0) && (isZkError(err, 'BAD_VERSION') || isZkError(err, 'NO_NODE'));
      if (fence) {
        this.logger.warn({ job: this.job, bundle: this.id, version: this.version }, 'fenced: the bundle moved on; its results are discarded');
        const error = this.closedError();
        this.closed = true;
        for (const w of waiters) w.resolve({ ok: false, error });
        this.resolveAll({ ok: false, error });
        this.onFenced(error);
        return;
      }
      for (const w of waiters) w.resolve({ ok: false, error: err as Error });
    }
  }

  /** The last write of the attempt: the settle multi (see the contract above). */
  private async writeSettle(): Promise<void> {
    const now = Date.now();
    const settled = settleBundle(this.record, now);
    const data = encodeBundle(settled.bundle);
    const dropped = new Set<string>();
    // With other bundles' settles (settle-batch.ts); a lane append reads and moves a tail, and two
    // in one multi would collide, so a bundle going back to its lane settles alone.
    if (this.batch && settled.placement.kind !== 'lane' && (await this.batch.submit(await this.settleOps(settled, data, dropped, new Set())))) return;
    for (let tries = 0; ; tries++) {
      let ops: Op[] = [];
      try {
        await commitWithRetry(this.client, async () => {
          const retryable = new Set<number>();
          ops = await this.settleOps(settled, data, dropped, retryable);
          return { ops, retryable, value: null };
        });
        return;
      } catch (err) {
        // The lease goes by itself when our session ended, and a cancel request may be gone:
        // the record at our version still says the attempt is ours, so settle without them.
        const path = err instanceof ZkError && err.opIndex !== undefined && err.opIndex > 0 ? ops[err.opIndex]?.path : undefined;
        const optional = path !== undefined && (path === layout.lease(this.job, this.id) || this.cancelNodes.has(path));
        if (tries < 3 && optional && isZkError(err, 'NO_NODE') && !dropped.has(path)) {
          dropped.add(path);
          continue;
        }
        throw err;
      }
    }
  }

  /** The settle multi's ops (see the contract above), without the optional ones already found gone. */
  private async settleOps(settled: Settled, data: Buffer, dropped: ReadonlySet<string>, retryable: Set<number>): Promise<Op[]> {
    const ops: Op[] = [{ op: 'set', path: layout.run(this.job, this.id), data, version: this.version }];
    const lease = layout.lease(this.job, this.id);
    if (!dropped.has(lease)) ops.push({ op: 'delete', path: lease });
    ops.push({ op: 'delete', path: layout.inflightRun(this.job, this.id) });
    for (const c of this.cancelNodes) if (!dropped.has(c)) ops.push({ op: 'delete', path: c });
    ops.push(...newlyDeadOps(this.job, this.claimedRecord, settled.bundle));
    ops.push(...(await placementOps(this.client, this.job, settled, ops.length, retryable)));
    return ops;
  }
}
