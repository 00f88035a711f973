/**
 * defineJob: the one way users declare a job. The definition is checked
 * here, once, so a bad name or cron fails at import time with
 * DROVER_INVALID_JOB instead of at 3 a.m. in the scheduler.
 */
import { CronExpressionParser } from 'cron-parser';
import type { Coordination } from '../client/coordination.ts';
import { DroverError } from '../errors.ts';
import type { JobDefinition, JobSpec } from './job-types.ts';
import { NAME_PATTERN } from './layout.ts';
import { BUNDLE_RUNS_MAX, PRIORITY_DEFAULT, PRIORITY_MAX } from './limits.ts';
import { enqueueJob, type EnqueueOptions } from './enqueue.ts';
import { compileInputSchema, schemaMiss, type SchemaValidator } from './input-schema.ts';
import { checkInput } from './payload.ts';

const JOB_BRAND = Symbol.for('drover.job');

export const HISTORY_KEEP_DEFAULT = 1000;
export const HISTORY_MAX_AGE_MS_DEFAULT = 7 * 24 * 3600 * 1000;
export const MAX_STALLS_DEFAULT = 2;

/** A checked job definition; `enqueue` is typed by the job's input. */
export interface Job<I = unknown, O = unknown> {
  readonly [JOB_BRAND]: true;
  readonly name: string;
  readonly definition: JobDefinition<I, O>;
  readonly spec: JobSpec;
  /** Enqueues one run, checked by this definition's input schema and the published one, then validate; resolves to its runId. */
  enqueue(client: Coordination, input: I, opts?: EnqueueOptions): Promise<string>;
}

function invalid(name: string, why: string): DroverError {
  return new DroverError('DROVER_INVALID_JOB', `job '${name}': ${why}`, { details: { job: name } });
}

function checkInteger(name: string, field: string, value: number | undefined, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (value === undefined) return;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw invalid(name, `${field} must be an integer in ${min}..${max === Number.MAX_SAFE_INTEGER ? 'inf' : max}, got ${String(value)}`);
  }
}

/**
 * The input schema compiles, and scheduleInput is JSON that passes it: the
 * scheduler fires by the published spec, so a bad one would otherwise fail
 * at fire time. (validate is not called here: it runs at claim.)
 */
function checkInputOptions(name: string, def: JobDefinition<never, unknown>): SchemaValidator | undefined {
  const validator = def.input === undefined ? undefined : compileInputSchema(name, def.input);
  if (def.scheduleInput === undefined) return validator;
  let stored: unknown;
  try {
    stored = checkInput(def.scheduleInput);
  } catch (err) {
    throw new DroverError('DROVER_INVALID_JOB', `job '${name}': scheduleInput: ${(err as Error).message}`, { cause: err, details: { job: name } });
  }
  const miss = validator ? schemaMiss(validator, stored) : null;
  if (miss) throw new DroverError('DROVER_INVALID_JOB', `job '${name}': scheduleInput does not pass the input schema: ${miss.message}`, { details: { job: name, path: miss.path } });
  return validator;
}

/** Throws DROVER_INVALID_JOB for a bad definition; returns its input schema's validator. */
function checkDefinition(def: JobDefinition<never, unknown>): SchemaValidator | undefined {
  const name = typeof def?.name === 'string' ? def.name : String(def?.name);
  if (typeof def?.name !== 'string' || !NAME_PATTERN.test(def.name)) {
    throw invalid(name, `the name must match ${String(NAME_PATTERN)} (letters, digits, '_', '.', '-')`);
  }
  if (typeof def.run !== 'function') throw invalid(name, 'run(ctx, input) must be a function');
  if (def.validate !== undefined && typeof def.validate !== 'function') throw invalid(name, 'validate must be a function');
  checkInteger(name, 'retries', def.retries, 0);
  checkInteger(name, 'concurrency', def.concurrency, 1);
  checkInteger(name, 'priority', def.priority, 0, PRIORITY_MAX);
  checkInteger(name, 'partitions', def.partitions, 1);
  checkInteger(name, 'maxStalls', def.maxStalls, 0);
  checkInteger(name, 'bundle', def.bundle, 1, BUNDLE_RUNS_MAX);
  if (def.timeoutMs !== undefined && !(Number.isFinite(def.timeoutMs) && def.timeoutMs > 0)) {
    throw invalid(name, `timeoutMs must be > 0, got ${String(def.timeoutMs)}`);
  }
  if (def.backoff !== undefined) {
    const b = def.backoff;
    if ((b.type !== 'fixed' && b.type !== 'exponential') || !(Number.isFinite(b.delayMs) && b.delayMs >= 0)) {
      throw invalid(name, "backoff must be { type: 'fixed' | 'exponential', delayMs >= 0 }");
    }
  }
  if (def.barrier !== undefined) checkInteger(name, 'barrier.size', def.barrier.size, 1);
  if (def.misfire !== undefined && def.misfire !== 'skip' && def.misfire !== 'fire-once') {
    throw invalid(name, "misfire must be 'skip' or 'fire-once'");
  }
  if (def.history !== undefined) {
    checkInteger(name, 'history.keep', def.history.keep, 0);
    if (def.history.maxAgeMs !== undefined && !(def.history.maxAgeMs > 0)) throw invalid(name, 'history.maxAgeMs must be > 0');
  }
  if (def.timezone !== undefined && def.schedule === undefined) throw invalid(name, 'timezone given without a schedule');
  if (def.schedule !== undefined) {
    try {
      CronExpressionParser.parse(def.schedule, { tz: def.timezone ?? 'UTC', strict: false });
    } catch (err) {
      throw new DroverError('DROVER_INVALID_JOB', `job '${name}': schedule '${def.schedule}' (${def.timezone ?? 'UTC'}) does not parse: ${(err as Error).message}`, {
        cause: err,
        details: { job: name },
      });
    }
    // cron-parser accepts unknown zones lazily in some versions; Intl is the authority.
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: def.timezone ?? 'UTC' });
    } catch (err) {
      throw new DroverError('DROVER_INVALID_JOB', `job '${name}': unknown time zone '${def.timezone ?? ''}'`, { cause: err, details: { job: name } });
    }
  }
  return checkInputOptions(name, def);
}

/** What workers publish at /jobs/<job>: the definition without its functions. */
export function toJobSpec(def: JobDefinition<never, unknown>): JobSpec {
  const spec: JobSpec = {
    v: 1,
    name: def.name,
    retries: def.retries ?? 0,
    concurrency: def.concurrency ?? 1,
    priority: def.priority ?? PRIORITY_DEFAULT,
    history: { keep: def.history?.keep ?? HISTORY_KEEP_DEFAULT, maxAgeMs: def.history?.maxAgeMs ?? HISTORY_MAX_AGE_MS_DEFAULT },
    maxStalls: def.maxStalls ?? MAX_STALLS_DEFAULT,
  };
  if (def.schedule !== undefined) {
    spec.schedule = def.schedule;
    spec.timezone = def.timezone ?? 'UTC';
    // As Quartz's cron triggers and Kubernetes CronJobs: fire times missed during a downtime run once.
    spec.misfire = def.misfire ?? 'fire-once';
    if (def.scheduleInput !== undefined) spec.scheduleInput = def.scheduleInput;
  }
  if (def.input !== undefined) spec.input = def.input;
  if (def.backoff !== undefined) spec.backoff = def.backoff;
  if (def.timeoutMs !== undefined) spec.timeoutMs = def.timeoutMs;
  if (def.partitions !== undefined) spec.partitions = def.partitions;
  if (def.barrier !== undefined) spec.barrier = def.barrier;
  if (def.bundle !== undefined && def.bundle > 1) spec.bundle = def.bundle;
  return spec;
}

export function defineJob<I = unknown, O = unknown>(def: JobDefinition<I, O>): Job<I, O> {
  const schema = checkDefinition(def as unknown as JobDefinition<never, unknown>);
  const spec = toJobSpec(def as unknown as JobDefinition<never, unknown>);
  const validate = def.validate;
  // The handle's own checks, held here rather than in any process-wide table.
  const own = { ...(validate ? { validate: (input: unknown): unknown => validate.call(def, input) } : {}), ...(schema ? { schema } : {}) };
  const job: Job<I, O> = {
    [JOB_BRAND]: true,
    name: def.name,
    definition: def,
    spec,
    enqueue: (client, input, opts) => enqueueJob(client, job as unknown as Job, input, opts, own),
  };
  return Object.freeze(job);
}

export function isJob(value: unknown): value is Job {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[JOB_BRAND] === true;
}
