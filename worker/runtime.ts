/**
 * startWorker: a worker process's runtime. It connects, publishes its jobs'
 * specs, registers /workers/w-NNNNNNNNNN, runs one JobRunner per job within
 * the worker's capacity, hosts the partition member (its loops in threads
 * of their own, apart from the handlers') and (unless told not to) the
 * scheduler candidate, and follows the connection:
 *   SUSPENDED            stop claiming (attempts keep running: the lease may
 *                        still be ours)
 *   RECONNECTED (same)   claim again
 *   LOST                 abort every attempt without writing (its lease is
 *                        gone; the scheduler re-queues it, the fence refuses
 *                        a late write)
 *   RECONNECTED (new)    register again (a new w- id), re-arm watches, claim
 * close({ graceMs }): stop claiming, let attempts finish within the grace,
 * hand the rest back (re-queued, not counted as an attempt), close.
 */
import os from 'node:os';
import type { Logger } from 'pino';
import type { Coordination, StateChange } from '../shared/client/coordination.ts';
import { connectCoordination } from '../shared/client/zk-client.ts';
import { DroverError } from '../shared/errors.ts';
import { isJob, type Job } from '../shared/jobs/define-job.ts';
import { loadJobs } from '../shared/jobs/load-jobs.ts';
import { publishJob } from '../shared/jobs/job-dirs.ts';
import type { JobSpec, WorkerInfo } from '../shared/jobs/job-types.ts';
import { DEFAULT_ROOT } from '../shared/jobs/layout.ts';
import { JobRunner, type RunnerHost } from './job-runner.ts';
import type { PartitionHost, PartitionMemberHandle } from './partitions/partition-host.ts';
import { markDraining, registerWorker, workerInfo } from './registration.ts';
import { AbortLatch } from './runs/abort-latch.ts';
import { InlineExecutor, type Executor } from './runs/executor.ts';
import { FinishBatcher } from './runs/finish.ts';
import { recoveryDuties } from './runs/recovery-duties.ts';
import { ThreadPool } from './runs/thread-pool.ts';
import type { WorkerEvent, WorkerEventListener } from './worker-events.ts';
import { componentLogger, silentLogger } from '../shared/log.ts';

export interface WorkerOptions {
  /** host:port[,host:port...] of the ensemble (Drover or Apache ZooKeeper). */
  connect?: string;
  /** Use this client instead of connecting (the worker does not close it). */
  client?: Coordination;
  /** Namespace root; default /drover. */
  root?: string;
  /** Job handles, or job file(s) to load. */
  jobs: Job[] | string | string[];
  /** Run slots of this worker; default the sum of its jobs' concurrency. */
  concurrency?: number;
  /** Run the scheduler candidate (default true). */
  schedule?: boolean;
  logger?: Logger;
  /**
   * The session timeout to request (default WORKER_SESSION_TIMEOUT_MS, 1200).
   * It decides how soon a crashed worker's duties move; the server clamps it
   * to [2, 20] x its tickTime, so a tickTime-2000 ZooKeeper grants 4000.
   */
  sessionTimeoutMs?: number;
  /** A label for logs (the worker's id is its w- node). */
  name?: string;
  /**
   * Run handlers, and partitioned jobs' loops, on the worker's own event
   * loop instead of worker threads. Forced when `jobs` are Job handles
   * (functions cannot cross threads). Only for tests and no-op benchmarks:
   * a CPU-bound handler or partition loop then starves the session's pings
   * and the worker loses its runs and partitions.
   */
  inline?: boolean;
  /** Handler threads (default min(capacity, os.availableParallelism())). */
  threads?: number;
  /**
   * Threads for partitioned jobs' loops, apart from the handler threads so a
   * busy loop delays neither the session nor other jobs' runs (default
   * min(the partitions of its partitioned jobs, os.availableParallelism())).
   * The loops this worker owns share them, least busy first.
   */
  partitionThreads?: number;
  /** How long an aborted handler may take to return before its thread is replaced (default 5 s). */
  abortGraceMs?: number;
  /** Host partitioned jobs through worker/partitions (default true when some job has partitions). */
  partitions?: boolean;
}

export interface Worker {
  /** Its node name under /workers (changes after the session is LOST). */
  readonly id: string;
  readonly client: Coordination;
  readonly jobs: readonly string[];
  onEvent(listener: WorkerEventListener): () => void;
  /** Active attempts now, per job. */
  activeRuns(): { job: string; runId: string; attempt: number }[];
  close(opts?: { graceMs?: number }): Promise<void>;
}


/**
 * A crashed worker's leases, scheduler candidacy and partition ownerships are
 * ephemerals: they go when its session expires, at the first tick boundary
 * after the timeout (so within timeout + tickTime of its last packet), and
 * watches move each duty within tens of milliseconds of that. 1200 on a
 * tickTime-500 server (drover dev) bounds it at 1.7 s plus those
 * milliseconds; 1500 let the worst case pass 2 s. It stays safe because
 * nothing CPU-bound shares the pings' event loop (handlers and partition
 * loops run in threads, unless inline): the client pings after timeout/3
 * (400 ms) idle, so it takes a main-thread stall of over 800 ms, or a
 * connection gap of 1.2 s, to lose the session.
 * Requested, not imposed: a server whose minimum is higher (2 x tickTime:
 * 4000 at ZooKeeper's tickTime 2000) negotiates it up.
 */
export const WORKER_SESSION_TIMEOUT_MS = 1_200;

async function resolveJobs(jobs: WorkerOptions['jobs']): Promise<{ jobs: Job[]; files: string[] }> {
  if (typeof jobs === 'string') return { jobs: await loadJobs(jobs), files: [jobs] };
  if (jobs.every((j): j is string => typeof j === 'string')) {
    const loaded = (await Promise.all(jobs.map((f) => loadJobs(f)))).flat();
    return { jobs: loaded, files: jobs };
  }
  if (!jobs.every(isJob)) throw new DroverError('DROVER_INVALID_ARGUMENT', 'jobs must be job files or defineJob handles, not a mix');
  return { jobs: jobs as Job[], files: [] };
}

export async function startWorker(opts: WorkerOptions): Promise<Worker> {
  const logger = componentLogger(opts.logger ?? silentLogger, 'worker', opts.name ? { name: opts.name } : {});
  const { jobs, files } = await resolveJobs(opts.jobs);
  const names = new Set<string>();
  for (const j of jobs) {
    if (names.has(j.name)) throw new DroverError('DROVER_INVALID_JOB', `job '${j.name}' is defined twice`);
    names.add(j.name);
  }
  const capacity = opts.concurrency ?? Math.max(1, jobs.reduce((s, j) => s + j.spec.concurrency, 0));
  if (!(Number.isInteger(capacity) && capacity >= 1)) throw new DroverError('DROVER_INVALID_ARGUMENT', 'concurrency must be an integer >= 1');
  if (opts.partitionThreads !== undefined && !(Number.isInteger(opts.partitionThreads) && opts.partitionThreads >= 1)) {
    throw new DroverError('DROVER_INVALID_ARGUMENT', 'partitionThreads must be an integer >= 1');
  }
  const ownClient = !opts.client;
  const client =
    opts.client ??
    (await connectCoordination({
      connect: opts.connect ?? '127.0.0.1:2181',
      root: opts.root ?? DEFAULT_ROOT,
      sessionTimeoutMs: opts.sessionTimeoutMs ?? WORKER_SESSION_TIMEOUT_MS,
      logger: componentLogger(logger, 'client'),
    }));
  let executor: Executor;
  // Partition loops: on the main loop when inline, else in threads of their own (see partitionThreads).
  let partitionExecutor: Executor | null = null;
  const inline = opts.inline === true || files.length === 0;
  const partitionSlots = opts.partitions === false ? 0 : jobs.reduce((s, j) => s + (j.spec.partitions ?? 0), 0);
  if (inline) {
    executor = new InlineExecutor(jobs, logger);
    if (partitionSlots > 0) partitionExecutor = executor;
  } else {
    const graceMs = opts.abortGraceMs ?? 5_000;
    const pool = new ThreadPool({ files, size: opts.threads ?? Math.min(capacity, os.availableParallelism()), graceMs, logger });
    const loops =
      partitionSlots > 0
        ? new ThreadPool({ files, size: opts.partitionThreads ?? Math.min(partitionSlots, os.availableParallelism()), graceMs, logger: componentLogger(logger, 'partitions') })
        : null;
    try {
      await Promise.all([pool.ready(), loops?.ready()]);
    } catch (err) {
      await Promise.all([pool.close(), loops?.close()]);
      if (ownClient) await client.close();
      throw err;
    }
    executor = pool;
    partitionExecutor = loops;
  }
  const runtime = new Runtime({ client, ownClient, logger, executor, partitionExecutor, jobs, capacity, opts });
  try {
    await runtime.start();
  } catch (err) {
    await runtime.close({ graceMs: 0 });
    throw err;
  }
  return runtime;
}

interface RuntimeInit {
  client: Coordination;
  ownClient: boolean;
  logger: Logger;
  executor: Executor;
  /** Runs partition loops: the inline executor, or threads apart from the handlers'; null without partitioned jobs. */
  partitionExecutor: Executor | null;
  jobs: Job[];
  capacity: number;
  opts: WorkerOptions;
}

class Runtime implements Worker, RunnerHost {
  readonly client: Coordination;
  readonly logger: Logger;
  readonly executor: Executor;
  readonly finisher: FinishBatcher;
  readonly jobs: readonly string[];
  private workerIdNow = '';
  private info: WorkerInfo;
  private readonly runners: JobRunner[];
  private readonly listeners = new Set<WorkerEventListener>();
  private busy = 0;
  private suspended = false;
  private draining = false;
  private closing: Promise<void> | null = null;
  private offState: (() => void) | null = null;
  private scheduler: { close(): Promise<void> } | null = null;
  private partitions: PartitionMemberHandle | null = null;

  constructor(private readonly init: RuntimeInit) {
    this.client = init.client;
    this.logger = init.logger;
    this.executor = init.executor;
    this.finisher = new FinishBatcher(init.client, init.logger);
    this.jobs = init.jobs.map((j) => j.name);
    this.info = workerInfo([...this.jobs], init.capacity, Date.now());
    this.runners = init.jobs.filter((j) => j.spec.partitions === undefined).map((j) => new JobRunner(this, j.spec));
  }

  get id(): string {
    return this.workerIdNow;
  }

  workerId(): string {
    return this.workerIdNow;
  }

  async start(): Promise<void> {
    for (const job of this.init.jobs) {
      const changed = await publishJob(this.client, job.spec);
      // The last worker to start wins: enqueuers check its schema, every worker runs its own handler.
      if (changed.length > 0) this.logger.warn({ job: job.name, changed }, 'job published with a definition different from the one in the cluster: run one definition per job on every worker');
    }
    this.offState = this.client.onState((change) => this.onState(change));
    this.workerIdNow = await registerWorker(this.client, this.info);
    this.logger.info({ workerId: this.workerIdNow, jobs: this.jobs, capacity: this.init.capacity }, 'worker registered');
    this.emit({ type: 'registered', workerId: this.workerIdNow });
    await Promise.all(this.runners.map((r) => r.start()));
    await this.startPartitions();
    if (this.init.opts.schedule !== false) await this.startScheduler();
  }

  private specs(): JobSpec[] {
    return this.init.jobs.map((j) => j.spec);
  }

  private async startScheduler(): Promise<void> {
    const { startSchedulerCandidate } = await import('./scheduler/scheduler.ts');
    this.scheduler = await startSchedulerCandidate({
      client: this.client,
      workerId: this.workerIdNow,
      logger: componentLogger(this.logger, 'scheduler'),
      jobs: () => this.specs(),
      duties: recoveryDuties,
    });
  }

  private async startPartitions(): Promise<void> {
    const partitioned = this.init.jobs.filter((j) => j.spec.partitions !== undefined);
    const loops = this.init.partitionExecutor;
    if (partitioned.length === 0 || this.init.opts.partitions === false || !loops) return;
    const { startPartitionMember } = await import('./partitions/partition-member.ts');
    const runtime = this;
    const host: PartitionHost = {
      get workerId() {
        return runtime.workerIdNow;
      },
      client: this.client,
      logger: componentLogger(this.logger, 'partitions'),
      partitionedJobs: () => partitioned.map((j) => j.spec),
      runPartition: async ({ job, partition, generation, signal }) => {
        if (!partitioned.some((j) => j.name === job)) return { ok: false, error: { code: 'DROVER_UNKNOWN_JOB', message: `no partitioned job '${job}' here` } };
        const req = { job, runId: `${job}-p${partition}`, input: null, attempt: 1, fence: `${job}:p${partition}:g${generation}`, partition };
        // A loop runs in a partition thread (or, inline, on this loop). The member's signal
        // reaches it as its ctx.signal; a threaded loop deaf to it past abortGraceMs has its
        // thread replaced, so the loop has ended whenever this resolves.
        const abort = new AbortLatch();
        if (signal.aborted) abort.abort(signal.reason);
        else signal.addEventListener('abort', () => abort.abort(signal.reason), { once: true });
        const outcome = await loops.execute(req, { progress: () => {}, log: () => {} }, abort);
        return outcome.ok ? { ok: true } : { ok: false, error: outcome.error };
      },
    };
    this.partitions = await startPartitionMember(host);
  }

  onEvent(listener: WorkerEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: WorkerEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch (err) {
        this.logger.warn({ err }, 'worker event listener threw');
      }
    }
  }

  activeRuns(): { job: string; runId: string; attempt: number }[] {
    return this.runners.flatMap((r) => [...r.active.values()].map((a) => ({ job: r.job, runId: a.runId, attempt: a.record.attempt })));
  }

  canClaim(): boolean {
    return !this.suspended && !this.draining && this.workerIdNow !== '';
  }

  freeSlots(): number {
    return this.init.capacity - this.busy;
  }

  reserve(): void {
    this.busy++;
  }

  release(): void {
    this.busy--;
    for (const r of this.runners) r.poke();
  }

  private onState(change: StateChange): void {
    this.emit({ type: 'state', state: change.state, sessionChanged: change.sessionChanged });
    switch (change.state) {
      case 'SUSPENDED':
        this.logger.warn('connection suspended: not claiming until it is back');
        this.suspended = true;
        break;
      case 'LOST':
        this.logger.warn({ active: this.busy }, 'session lost: aborting every attempt (their leases are gone)');
        this.suspended = true;
        for (const r of this.runners) r.abortAll(new DroverError('DROVER_SESSION_LOST', 'the worker lost its session'));
        break;
      case 'RECONNECTED':
      case 'CONNECTED':
        if (change.sessionChanged) void this.reregister();
        else {
          this.suspended = false;
          for (const r of this.runners) r.poke();
        }
        break;
      case 'CLOSED':
        this.suspended = true;
        break;
    }
  }

  private async reregister(): Promise<void> {
    for (let tries = 0; !this.draining; tries++) {
      try {
        this.workerIdNow = await registerWorker(this.client, this.info);
        this.logger.info({ workerId: this.workerIdNow }, 'registered again on a new session');
        this.emit({ type: 'registered', workerId: this.workerIdNow });
        this.suspended = false;
        for (const r of this.runners) r.onNewSession();
        return;
      } catch (err) {
        this.logger.warn({ err, tries }, 're-registering failed');
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  close(opts: { graceMs?: number } = {}): Promise<void> {
    this.closing ??= this.shutdown(opts.graceMs ?? 10_000);
    return this.closing;
  }

  private async shutdown(graceMs: number): Promise<void> {
    this.draining = true;
    this.emit({ type: 'draining' });
    this.logger.info({ active: this.busy, graceMs }, 'draining');
    if (this.workerIdNow) await markDraining(this.client, this.workerIdNow, this.info).catch(() => {});
    await Promise.all(this.runners.map((r) => r.stopClaiming()));
    await this.scheduler?.close().catch((err: unknown) => this.logger.warn({ err }, 'closing the scheduler failed'));
    await this.partitions?.close().catch((err: unknown) => this.logger.warn({ err }, 'closing partitions failed'));
    const drained = Promise.all(this.runners.map((r) => r.drained()));
    let timer: NodeJS.Timeout | undefined;
    const late = await Promise.race([
      drained.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), graceMs))),
    ]);
    clearTimeout(timer);
    if (late) {
      this.logger.warn({ active: this.busy }, 'grace period over: handing back the attempts still running');
      for (const r of this.runners) r.abortAll(new DroverError('DROVER_CLOSED', 'the worker is shutting down'));
      await drained;
    }
    // The claim groups the last finishes emptied: closed now, not left to recovery.
    await this.finisher.closed();
    this.offState?.();
    await this.executor.close();
    if (this.init.partitionExecutor !== this.executor) await this.init.partitionExecutor?.close();
    if (this.init.ownClient) await this.client.close();
    this.emit({ type: 'closed' });
  }
}
