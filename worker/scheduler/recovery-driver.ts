/**
 * The runtime's recovery duties, driven while this scheduler leads:
 *   - orphans: a child watch on leases/<job> and inflight/<job>; a run in
 *     inflight without a lease lost its worker, and is re-queued.
 *   - delayed runs: a child watch on delayed/<job> gives the earliest due
 *     time (it is in the entry's name); one timer for it promotes them.
 *     This is the one place a timer is the right tool: nothing else
 *     announces that a time has come.
 *   - history: pruned on a slow interval (cheap: count and age bounds).
 * The duties themselves (what a re-queue or a promotion writes) belong to
 * the runtime (worker/runs/); this file decides only when they run.
 * Watch storms (a busy queue changes leases thousands of times a second)
 * are coalesced: a pass per job at most every PASS_INTERVAL_MS.
 */
import type { Logger } from 'pino';
import type { Coordination } from '../../shared/client/coordination.ts';
import { isZkError } from '../../shared/client/zk-error.ts';
import type { JobSpec } from '../../shared/jobs/job-types.ts';
import { layout } from '../../shared/jobs/layout.ts';
import { SerialRunner } from '../../shared/recipes/serial-runner.ts';

export interface RecoveryDuties {
  /** Re-queues the runs of `job` whose lease is gone (given: the orphans seen); resolves to how many moved. */
  requeueOrphans(client: Coordination, job: string, orphans: string[]): Promise<number>;
  /** Promotes delayed runs of `job` due at or before nowMs; resolves to how many moved. */
  promoteDue(client: Coordination, job: string, nowMs: number): Promise<number>;
  /** Prunes finished runs of the job beyond its history bounds; resolves to how many went. */
  pruneHistory(client: Coordination, spec: JobSpec, nowMs: number): Promise<number>;
}

export interface RecoveryDriverOptions {
  client: Coordination;
  logger: Logger;
  duties: RecoveryDuties;
  now: () => number;
  pruneIntervalMs: number;
}

const PASS_INTERVAL_MS = 200;
const PASS_RETRY_MS = 1_000;
const TIMER_MS_MAX = 60_000;

/** d-<due13>-<runId> -> due ms. */
export function dueOf(name: string): number {
  const m = /^d-(\d{13})-/.exec(name);
  return m?.[1] ? Number(m[1]) : Number.NaN;
}

export class RecoveryDriver {
  private readonly jobs = new Map<string, JobRecovery>();
  private readonly pruneTimer: NodeJS.Timeout;
  private stopped = false;

  constructor(private readonly opts: RecoveryDriverOptions) {
    this.pruneTimer = setInterval(() => void this.pruneAll(), opts.pruneIntervalMs);
    this.pruneTimer.unref();
  }

  update(specs: readonly JobSpec[]): void {
    if (this.stopped) return;
    const wanted = new Map(specs.map((s) => [s.name, s]));
    for (const [name, r] of this.jobs) {
      if (!wanted.has(name)) {
        r.stop();
        this.jobs.delete(name);
      }
    }
    for (const [name, spec] of wanted) {
      const r = this.jobs.get(name);
      if (r) r.spec = spec;
      else {
        const created = new JobRecovery(spec, this.opts);
        this.jobs.set(name, created);
        created.start();
      }
    }
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.pruneTimer);
    for (const r of this.jobs.values()) r.stop();
    this.jobs.clear();
  }

  private async pruneAll(): Promise<void> {
    for (const r of [...this.jobs.values()]) {
      if (this.stopped) return;
      try {
        const n = await this.opts.duties.pruneHistory(this.opts.client, r.spec, this.opts.now());
        if (n > 0) this.opts.logger.debug({ job: r.spec.name, pruned: n }, 'history pruned');
      } catch (err) {
        this.opts.logger.warn({ err, job: r.spec.name }, 'history prune failed');
      }
    }
  }
}

class JobRecovery {
  private readonly orphanRunner: SerialRunner;
  private readonly delayedRunner: SerialRunner;
  private readonly log: Logger;
  private stopped = false;
  private dueTimer: NodeJS.Timeout | undefined;
  private readonly pacers = new Set<NodeJS.Timeout>();

  constructor(
    public spec: JobSpec,
    private readonly opts: RecoveryDriverOptions,
  ) {
    this.log = opts.logger.child({ job: spec.name });
    this.orphanRunner = new SerialRunner(
      () => this.paced(() => this.orphanPass()),
      (err) => this.retryLater(this.orphanRunner, err, 'orphan pass'),
    );
    this.delayedRunner = new SerialRunner(
      () => this.paced(() => this.delayedPass()),
      (err) => this.retryLater(this.delayedRunner, err, 'delayed pass'),
    );
  }

  start(): void {
    this.orphanRunner.trigger();
    this.delayedRunner.trigger();
  }

  stop(): void {
    this.stopped = true;
    if (this.dueTimer) clearTimeout(this.dueTimer);
    for (const t of this.pacers) clearTimeout(t);
    this.pacers.clear();
  }

  /** Runs a pass, then holds the runner for PASS_INTERVAL_MS so triggers meanwhile coalesce into one. */
  private async paced(pass: () => Promise<void>): Promise<void> {
    if (this.stopped) return;
    await pass();
    if (this.stopped) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.pacers.delete(t);
        resolve();
      }, PASS_INTERVAL_MS);
      this.pacers.add(t);
    });
  }

  private retryLater(runner: SerialRunner, err: unknown, what: string): void {
    if (this.stopped) return;
    if (!isZkError(err, 'NO_NODE')) this.log.warn({ err }, `${what} failed; retrying`);
    const t = setTimeout(() => {
      this.pacers.delete(t);
      if (!this.stopped) runner.trigger();
    }, PASS_RETRY_MS);
    this.pacers.add(t);
  }

  private async listWatched(path: string, runner: SerialRunner): Promise<string[]> {
    try {
      return await this.opts.client.children(path, () => {
        if (!this.stopped) runner.trigger();
      });
    } catch (err) {
      if (!isZkError(err, 'NO_NODE')) throw err;
      // Not made yet (no run enqueued): watch for it to appear.
      await this.opts.client.exists(path, () => {
        if (!this.stopped) runner.trigger();
      });
      return [];
    }
  }

  private async orphanPass(): Promise<void> {
    const { client, duties } = this.opts;
    const job = this.spec.name;
    // Inflight first: a run claimed between the two reads has its lease by then (one multi made both).
    const inflight = await this.listWatched(layout.inflight(job), this.orphanRunner);
    // Nothing in flight, nothing to orphan; the inflight watch wakes us at the next claim.
    if (inflight.length === 0) return;
    const leases = new Set(await this.listWatched(layout.leases(job), this.orphanRunner));
    const orphans = inflight.filter((r) => !leases.has(r));
    if (orphans.length === 0 || this.stopped) return;
    const n = await duties.requeueOrphans(client, job, orphans);
    this.log.info({ orphans: orphans.length, requeued: n }, 'orphaned runs re-queued');
  }

  private async delayedPass(): Promise<void> {
    const { client, duties, now } = this.opts;
    const job = this.spec.name;
    const names = await this.listWatched(layout.delayed(job), this.delayedRunner);
    let earliest = Number.POSITIVE_INFINITY;
    for (const n of names) earliest = Math.min(earliest, dueOf(n));
    if (!Number.isFinite(earliest) || this.stopped) return;
    if (earliest <= now()) {
      const n = await duties.promoteDue(client, job, now());
      if (n > 0) this.log.debug({ promoted: n }, 'delayed runs promoted');
      this.delayedRunner.trigger(); // the next pass reads what is left and sets the timer
      return;
    }
    if (this.dueTimer) clearTimeout(this.dueTimer);
    this.dueTimer = setTimeout(() => {
      this.dueTimer = undefined;
      if (!this.stopped) this.delayedRunner.trigger();
    }, Math.min(TIMER_MS_MAX, earliest - now()));
    this.dueTimer.unref();
  }
}
