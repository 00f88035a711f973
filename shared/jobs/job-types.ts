/**
 * The job model's types: what users write (JobDefinition, JobContext) and
 * what lives in the znodes of layout.ts (records, all JSON). Records carry a
 * `v` format number so a newer worker can read an older cluster's state.
 */
import type { Logger } from 'pino';

export type Backoff =
  | { type: 'fixed'; delayMs: number }
  | { type: 'exponential'; delayMs: number; maxDelayMs?: number };

/** What to do with cron fire times missed while no scheduler ran. */
export type MisfirePolicy = 'skip' | 'fire-once';

export interface BarrierOptions {
  /** Runs of one group start only when `size` member runs have arrived. */
  size: number;
}

export interface JobContext {
  readonly runId: string;
  readonly job: string;
  /** 1 for the first attempt. */
  readonly attempt: number;
  /** The fencing token of this attempt: writes elsewhere can be made conditional on it. */
  readonly fence: string;
  /** The partition this run belongs to, for partitioned jobs. */
  readonly partition: number | undefined;
  /** Aborts on timeout, cancel, lost ownership, or worker shutdown past its grace. */
  readonly signal: AbortSignal;
  /** A pino child bound to { job, runId, attempt }; lines, with their fields, are also kept on the run (bounded). */
  readonly log: Logger;
  /** Records progress (0..100) and a message on the run's znode, throttled. */
  progress(pct: number, message?: string): void;
}

/** A JSON Schema (draft-07) object, as JSON. */
export type JsonSchema = { [keyword: string]: unknown };

export interface JobDefinition<Input = unknown, Output = unknown> {
  /** Safe znode name: letters, digits, '_', '.', '-'. */
  name: string;
  run(ctx: JobContext, input: Input): Promise<Output> | Output;
  /**
   * The input's JSON Schema: published with the job, so every enqueuer (CLI,
   * dashboard, enqueue by name, the job handle) checks it before writing.
   */
  input?: JsonSchema;
  /**
   * A local extra check (may normalize): runs where this definition is
   * loaded — Job.enqueue, and the worker before the handler. Throw to reject.
   */
  validate?(input: unknown): Input;
  /** A cron expression (cron-parser syntax, 5 or 6 fields). */
  schedule?: string;
  /** IANA time zone for `schedule`, default UTC. */
  timezone?: string;
  /** Input for runs fired by the schedule. */
  scheduleInput?: Input;
  /**
   * Fire times missed by more than the misfire grace (60 s), e.g. while no
   * scheduler ran: 'fire-once' (default) fires the latest of them once,
   * late; 'skip' fires none. Either way the skipped ones are recorded.
   */
  misfire?: MisfirePolicy;
  /** Retries after the first attempt (default 0). */
  retries?: number;
  backoff?: Backoff;
  timeoutMs?: number;
  /** Max runs of this job at once per worker (default 1). */
  concurrency?: number;
  /** 0..9, lower runs first (default 5). */
  priority?: number;
  /** A partitioned job: P partitions spread over the workers running it. */
  partitions?: number;
  barrier?: BarrierOptions;
  /**
   * History bound: keep the last N finished runs of EACH final state —
   * succeeded, failed, cancelled — (default 1000 each, as BullMQ's
   * removeOnComplete and removeOnFail bound their sets apart) and none
   * older than maxAgeMs (default 7 days). A bundle counts once per state
   * its runs ended in.
   */
  history?: { keep?: number; maxAgeMs?: number };
  /** Lost workers a run survives before a lost lease counts as a failed attempt (default 2). */
  maxStalls?: number;
  /**
   * Runs enqueued together (one enqueue call) are stored, claimed and
   * finished as bundles of up to this many (1..BUNDLE_RUNS_MAX, default 1 =
   * off): one record, one lease, one history entry per bundle (one per
   * final state its runs reached) instead of per run. For many short runs;
   * a bundle runs on one worker, so leave it at 1 for long ones. Bundled
   * runs keep smaller results and logs (limits.ts).
   */
  bundle?: number;
}

export type RunState = 'queued' | 'delayed' | 'waiting-barrier' | 'active' | 'succeeded' | 'failed' | 'dead' | 'cancelled';

/**
 * The final states history keeps, each in a directory of its own
 * (layout.historyDir): failed is a run that ended failed without being
 * dead-lettered (its input refused at claim, a bundled run's result too
 * large); dead runs are in /dead/<job>.
 */
export type HistoryState = Extract<RunState, 'succeeded' | 'failed' | 'cancelled'>;

export interface RunRecord {
  v: 1;
  id: string;
  job: string;
  state: RunState;
  input: unknown;
  /** The attempt now running or last run (0 before the first claim). */
  attempt: number;
  maxAttempts: number;
  priority: number;
  enqueuedAt: number;
  /** For delayed and backoff runs: when it becomes ready. */
  dueAt?: number;
  startedAt?: number;
  finishedAt?: number;
  /** The worker (w-NNNNNNNNNN) holding the current attempt. */
  worker?: string;
  progress?: { pct: number; message?: string; at: number };
  result?: unknown;
  /** The last attempt's error (its stack is in its `attempts` entry). */
  error?: RunError;
  /** The last few log lines of the attempt (bounded). */
  logs?: RunLogLine[];
  /**
   * The attempts that did not succeed, oldest first: the last
   * RUN_ATTEMPTS_MAX (BUNDLE_ATTEMPTS_MAX for a bundled run) within a byte
   * budget (limits.ts). A success is always the last attempt and is the
   * record itself (worker, startedAt, finishedAt, logs, result), so a run
   * whose first attempt succeeded has none.
   */
  attempts?: AttemptRecord[];
  /** Set when fired by a schedule: the fire time T. */
  fireTime?: number;
  partition?: number;
  /** Barrier group id and its size, for barrier runs. */
  group?: { id: string; size: number };
  /**
   * Claims that did not count as attempts: hand-backs at shutdown and lost
   * leases within `maxStalls`. Attempts used = attempt - (freeAttempts ?? 0).
   */
  freeAttempts?: number;
  /** How many times this run's worker was lost mid-attempt. */
  stalls?: number;
}

/** An error as a run keeps it: JSON, bounded (limits.ts). */
export interface RunError {
  /** The error's own string `code` when it has one (e.g. ECONNRESET), else a DROVER_* code. */
  code: string;
  message: string;
  /** The error's class name (`err.name`), e.g. 'TypeError' or 'NonRetryableError'. */
  name?: string;
}

/** A line the handler logged through ctx.log, with its structured fields (JSON-safe, bounded). */
export interface RunLogLine {
  at: number;
  level: string;
  msg: string;
  fields?: Record<string, unknown>;
}

/**
 * How an attempt that did not succeed ended: failed (threw, timed out, input
 * or result refused), cancelled, lost (its worker's session ended), or
 * handed-back (its worker shut down before it ended).
 */
export type AttemptOutcome = 'failed' | 'cancelled' | 'lost' | 'handed-back';

/** One attempt in RunRecord.attempts. */
export interface AttemptRecord {
  attempt: number;
  worker?: string;
  startedAt?: number;
  finishedAt: number;
  outcome: AttemptOutcome;
  /** Set when the attempt did not count against maxAttempts (a stall within maxStalls, a hand-back). */
  free?: true;
  /** `stack` holds the frames (the lines after `name: message`), cut to a bound. */
  error?: RunError & { stack?: string };
  /** The attempt's last log lines. */
  logs?: RunLogLine[];
}

/** Where a bundle record sits: in a lane, waiting for a retry's due time, held by a worker, or finished. */
export type BundleState = 'queued' | 'delayed' | 'active' | 'done';

/**
 * /runs/<job>/<bundleId>: up to JobSpec.bundle runs in one record
 * (docs/adr/0006-run-bundles.md). The bundle moves through the queue as one
 * unit; every run in it keeps its own RunRecord (id `<bundleId>.<k>`, state,
 * attempt, result). The record's version is the fence of all its runs.
 */
export interface BundleRecord {
  v: 1;
  kind: 'bundle';
  id: string;
  job: string;
  state: BundleState;
  priority: number;
  enqueuedAt: number;
  /** While delayed: when it becomes ready (the latest due time among its retrying runs). */
  dueAt?: number;
  /** While active: the worker holding it, and since when. */
  worker?: string;
  startedAt?: number;
  /** When it became done. */
  finishedAt?: number;
  runs: RunRecord[];
}

/**
 * /barriers/<job>-<group>: a barrier run group (layout.runGroup). Every
 * change is a set at the read version, so exactly one writer sees the last
 * arrival (and releases the group) and exactly one sees the last departure
 * (and enqueues the follow-up).
 */
export interface BarrierState {
  v: 1;
  size: number;
  /** Member runIds with their priorities, in arrival order. */
  arrived: { runId: string; priority: number }[];
  released: boolean;
  /** Members finished (succeeded, dead or cancelled). */
  left: number;
  /** The follow-up run enqueued once all `size` members have left. */
  then?: { job: string; input: unknown };
  /** The follow-up's runId once enqueued. */
  followUp?: string;
}

export interface LeaseInfo {
  worker: string;
  attempt: number;
  fence: string;
  at: number;
}

export interface WorkerInfo {
  v: 1;
  host: string;
  pid: number;
  jobs: string[];
  /** Total run slots. */
  capacity: number;
  startedAt: number;
  /** Set by the worker as it drains on SIGTERM. */
  draining?: boolean;
}

/** What workers publish about a job at /jobs/<job> (enough for the scheduler and dashboard). */
export interface JobSpec {
  v: 1;
  name: string;
  schedule?: string;
  timezone?: string;
  misfire?: MisfirePolicy;
  scheduleInput?: unknown;
  /** The input's JSON Schema, checked by every enqueuer. */
  input?: JsonSchema;
  retries: number;
  backoff?: Backoff;
  timeoutMs?: number;
  concurrency: number;
  priority: number;
  partitions?: number;
  barrier?: BarrierOptions;
  history: { keep: number; maxAgeMs: number };
  /** Absent in specs written before it existed: read as 2. */
  maxStalls?: number;
  /** Bundle size for multi-run enqueues (absent = 1, off). */
  bundle?: number;
}

export interface ScheduleState {
  v: 1;
  cron: string;
  timezone: string;
  misfire: MisfirePolicy;
  /** The last fire time T the scheduler fired (or decided to skip). */
  lastFireTime?: number;
  nextFireTime?: number;
  /** The last misfire the policy skipped: fire times from..to (count of them) were not fired. */
  lastSkip?: { from: number; to: number; count: number; countCapped: boolean; at: number };
  /** The worker whose scheduler wrote this state last. */
  updatedBy?: string;
}

export interface Assignment {
  v: 1;
  generation: number;
  /** Members in join order (their node names) with their partition ranges [from, to). */
  ranges: { member: string; worker: string; from: number; to: number }[];
  partitions: number;
  reason: string;
  at: number;
  /**
   * The cversion of partitions/<job>/members the ranges were computed from:
   * a member whose view is older never overwrites a newer assignment.
   */
  membersVersion?: number;
}
