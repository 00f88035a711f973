/**
 * The scheduler: every worker is a candidate (LeaderElection under
 * /scheduler, lowest c-NNNNNNNNNN leads, each candidate watching only its
 * predecessor). While leading it runs one term: it writes scheduler/state
 * { leader, since, reason }, watches /jobs (every job of the cluster, not
 * only this worker's), fires their cron schedules (cron-driver.ts) and
 * drives the runtime's recovery duties (recovery-driver.ts).
 *
 * SUSPENDED and LOST end the term at once (the election reports
 * not-leading, because the session and its candidate node may be expiring
 * unseen); a new term starts only when leadership is reconfirmed. Exactly
 * once per cron fire time does not depend on the term ending in time: each
 * fire is a multi conditional on the stored state (schedule-store.ts).
 */
import type { Logger } from 'pino';
import type { Coordination } from '../../shared/client/coordination.ts';
import { isZkError } from '../../shared/client/zk-error.ts';
import type { JobSpec } from '../../shared/jobs/job-types.ts';
import { layout } from '../../shared/jobs/layout.ts';
import { decodeJson, encodeJson } from '../../shared/jobs/run-codec.ts';
import { LeaderElection } from '../../shared/recipes/leader-election.ts';
import { SerialRunner } from '../../shared/recipes/serial-runner.ts';
import { CronDriver } from './cron-driver.ts';
import { RecoveryDriver, type RecoveryDuties } from './recovery-driver.ts';
import { componentLogger } from '../../shared/log.ts';

export interface SchedulerCandidateOptions {
  client: Coordination;
  /** This worker's id (w-NNNNNNNNNN), or a getter for it: after LOST the worker re-registers under a new id, and the next term uses it. */
  workerId: string | (() => string);
  logger: Logger;
  /** This worker's own jobs (scheduled even before their spec is visible under /jobs). */
  jobs: () => JobSpec[];
  /** Fire times older than this when the scheduler gets to them are misfires. Default 60 s. */
  misfireGraceMs?: number;
  /** The runtime's re-queue / promote / prune operations; without them only cron is driven. */
  duties?: RecoveryDuties;
  pruneIntervalMs?: number;
  /** This machine's clock (tests shift it to play a long downtime). */
  now?: () => number;
}

export interface SchedulerCandidate {
  readonly leading: boolean;
  /** Resolves when this candidate's term has started (leading and state written). */
  whenLeading(): Promise<void>;
  close(): Promise<void>;
}

/** What /scheduler/state holds. */
export interface SchedulerState {
  v: 1;
  leader: string;
  since: number;
  reason: string;
}

export const MISFIRE_GRACE_MS_DEFAULT = 60_000;
const PRUNE_INTERVAL_MS_DEFAULT = 30_000;
const JOBS_RETRY_MS = 1_000;
const TERM_RETRY_MS = 1_000;

export async function readSchedulerState(client: Coordination): Promise<SchedulerState | null> {
  try {
    const { data } = await client.get(layout.schedulerState);
    // Empty: made by a first scheduler an instant before it writes its state.
    return data.length === 0 ? null : decodeJson<SchedulerState>(data, 'scheduler state');
  } catch (err) {
    if (isZkError(err, 'NO_NODE')) return null;
    throw err;
  }
}

/** One leadership term: everything the leader does, stopped as a whole. */
class SchedulerTerm {
  private stopped = false;
  private readonly cron: CronDriver;
  private readonly recovery: RecoveryDriver | null;
  private readonly jobsRunner: SerialRunner;
  private readonly specs = new Map<string, JobSpec>();
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly opts: Required<Pick<SchedulerCandidateOptions, 'client' | 'jobs' | 'now'>> & {
      workerId: string;
      log: Logger;
      misfireGraceMs: number;
      duties?: RecoveryDuties;
      pruneIntervalMs: number;
    },
  ) {
    this.cron = new CronDriver({ client: opts.client, workerId: opts.workerId, logger: opts.log, misfireGraceMs: opts.misfireGraceMs, now: opts.now });
    this.recovery = opts.duties
      ? new RecoveryDriver({ client: opts.client, logger: opts.log, duties: opts.duties, now: opts.now, pruneIntervalMs: opts.pruneIntervalMs })
      : null;
    this.jobsRunner = new SerialRunner(
      () => this.readJobs(),
      (err) => {
        if (this.stopped) return;
        this.opts.log.warn({ err }, 'reading /jobs failed; retrying');
        this.retryTimer = setTimeout(() => this.jobsRunner.trigger(), JOBS_RETRY_MS);
      },
    );
  }

  /** `candidatePath`: our election node; the state write is conditional on it, so a deposed leader cannot overwrite its successor's. */
  async start(reason: string, candidatePath: string | undefined): Promise<void> {
    const { client, workerId, log, now } = this.opts;
    const previous = await readSchedulerState(client).catch(() => null);
    const why = previous && previous.leader !== workerId ? `${reason}; took over from ${previous.leader}` : previous ? reason : `${reason}; first scheduler of the cluster`;
    const state: SchedulerState = { v: 1, leader: workerId, since: now(), reason: why };
    await client.ensurePath(layout.schedulerState);
    if (this.stopped) return;
    await client.multi([
      ...(candidatePath ? [{ op: 'check' as const, path: candidatePath, version: 0 }] : []),
      { op: 'set', path: layout.schedulerState, data: encodeJson(state) },
    ]);
    log.info({ reason: why, previous: previous?.leader }, 'scheduler takeover');
    await client.ensurePath(layout.jobs);
    await this.jobsRunner.run();
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.cron.stop();
    this.recovery?.stop();
  }

  private async readJobs(): Promise<void> {
    if (this.stopped) return;
    const { client } = this.opts;
    const names = await client.children(layout.jobs, () => this.jobsRunner.trigger());
    const seen = new Set<string>();
    for (const name of names) {
      try {
        // A data watch per spec: a changed schedule (a redeploy) re-plans that job.
        const { data } = await client.get(layout.job(name), () => this.jobsRunner.trigger());
        this.specs.set(name, decodeJson<JobSpec>(data, `job spec ${name}`));
        seen.add(name);
      } catch (err) {
        if (!isZkError(err, 'NO_NODE')) this.opts.log.warn({ err, job: name }, 'job spec unreadable; ignoring it');
      }
    }
    for (const own of this.opts.jobs()) {
      if (!seen.has(own.name)) {
        this.specs.set(own.name, own);
        seen.add(own.name);
      }
    }
    for (const name of [...this.specs.keys()]) if (!seen.has(name)) this.specs.delete(name);
    if (this.stopped) return;
    const specs = [...this.specs.values()];
    this.cron.update(specs);
    this.recovery?.update(specs);
  }
}

export async function startSchedulerCandidate(opts: SchedulerCandidateOptions): Promise<SchedulerCandidate> {
  // The runtime may hand in a logger already bound to this component; bind it once.
  const base = /(^|\/)scheduler$/.test(String(opts.logger.bindings()['component'])) ? opts.logger : componentLogger(opts.logger, 'scheduler');
  const workerIdNow = typeof opts.workerId === 'function' ? opts.workerId : ((id: string) => () => id)(opts.workerId);
  const log = base.child({ worker: workerIdNow() });
  const now = opts.now ?? Date.now;
  const election = new LeaderElection(opts.client, layout.scheduler, { id: workerIdNow(), logger: log });
  let term: SchedulerTerm | null = null;
  let closed = false;
  /** Why the last term ended, for the next takeover's log line. */
  let lastDrop: string | null = null;
  const leadingWaiters = new Set<() => void>();
  /** True once the current term has written its state and read /jobs. */
  let termReady = false;

  const offState = opts.client.onState((c) => {
    if (c.state === 'SUSPENDED' || c.state === 'LOST') lastDrop = `connection ${c.state}`;
  });

  const begin = (): void => {
    if (closed || term) return;
    const reason = lastDrop ? `leading after ${lastDrop}` : 'lowest scheduler candidate';
    lastDrop = null;
    const t = new SchedulerTerm({
      client: opts.client,
      workerId: workerIdNow(),
      jobs: opts.jobs,
      now,
      log,
      misfireGraceMs: opts.misfireGraceMs ?? MISFIRE_GRACE_MS_DEFAULT,
      pruneIntervalMs: opts.pruneIntervalMs ?? PRUNE_INTERVAL_MS_DEFAULT,
      ...(opts.duties ? { duties: opts.duties } : {}),
    });
    term = t;
    t.start(reason, election.candidatePath).then(
      () => {
        if (term !== t) return;
        termReady = true;
        for (const w of [...leadingWaiters]) w();
      },
      (err: unknown) => {
        if (term !== t) return;
        end('term failed to start');
        // Still the lowest candidate: nobody else can lead, so try again rather than sit on the leadership.
        log.warn({ err }, 'scheduler term failed to start; retrying');
        const retry = setTimeout(() => {
          if (!closed && election.isLeader && !term) begin();
        }, TERM_RETRY_MS);
        retry.unref();
      },
    );
  };

  const end = (why: string): void => {
    if (!term) return;
    term.stop();
    term = null;
    termReady = false;
    lastDrop = lastDrop ?? why;
    log.info({ why }, 'scheduler stepped down');
  };

  election.onChange((leading) => {
    if (leading) begin();
    else end(lastDrop ?? 'lost leadership');
  });
  await election.start();

  return {
    get leading() {
      return term !== null && election.isLeader;
    },
    whenLeading() {
      return new Promise<void>((resolve) => {
        if (termReady) return resolve();
        leadingWaiters.add(function done() {
          leadingWaiters.delete(done);
          resolve();
        });
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      offState();
      end('closed');
      await election.close();
    },
  };
}
