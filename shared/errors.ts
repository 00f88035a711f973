/**
 * The framework's errors: one class, one table of DROVER_* codes. Every code
 * is documented in docs/errors.md (a test checks both directions); a
 * retired code is never reused for something else.
 */
export const DroverCode = {
  /** A job payload failed the job's input schema or validate at enqueue (details.path names the field), or is not JSON-serializable. */
  DROVER_INVALID_PAYLOAD: 'a job payload failed validation',
  /** The payload (or result) is larger than the framework's limit, below jute.maxbuffer. */
  DROVER_PAYLOAD_TOO_LARGE: 'a job payload or result is too large',
  /** No job with that name is defined (or registered in the cluster). */
  DROVER_UNKNOWN_JOB: 'no such job',
  /** A job definition is invalid (bad name, bad cron, bad option). */
  DROVER_INVALID_JOB: 'a job definition is invalid',
  /** A cron expression or time zone does not parse. */
  DROVER_INVALID_SCHEDULE: 'a schedule does not parse',
  /** An argument outside the documented range. */
  DROVER_INVALID_ARGUMENT: 'an argument is invalid',
  /** No run with that id exists. */
  DROVER_RUN_NOT_FOUND: 'no such run',
  /** The run is not in a state that allows the action (e.g. retry a running run). */
  DROVER_RUN_STATE: 'the run is not in a state that allows this',
  /** The run's attempt exceeded its timeoutMs. */
  DROVER_TIMEOUT: 'the run timed out',
  /** The run was cancelled. */
  DROVER_CANCELLED: 'the run was cancelled',
  /** This worker no longer owns the run (its lease or fence moved on). */
  DROVER_FENCED: 'ownership was lost; the write was refused',
  /** The worker running the attempt died or lost its session. */
  DROVER_WORKER_LOST: 'the worker running the attempt was lost',
  /** Not connected to the coordination service within the deadline. */
  DROVER_NOT_CONNECTED: 'not connected to the coordination service',
  /** The session was lost while an operation needed it. */
  DROVER_SESSION_LOST: 'the coordination session was lost',
  /** The client, recipe or worker was closed. */
  DROVER_CLOSED: 'closed',
  /** A lock/lease/leadership the caller relies on is not held. */
  DROVER_NOT_HELD: 'not held',
  /** Waiting (lock, barrier, election, run) exceeded its deadline. */
  DROVER_WAIT_TIMEOUT: 'the wait timed out',
  /** A recipe's stored state is not what it should be (foreign data at its path). */
  DROVER_CORRUPT_STATE: 'stored state is corrupt',
  /** The handler threw; the message carries the handler's error. */
  DROVER_HANDLER_FAILED: 'the handler failed',
  /** The handler threw a NonRetryableError (without a code of its own): the run ends without further attempts. */
  DROVER_NON_RETRYABLE: 'the handler failed and asked not to be retried',
  /** A job cannot be removed: a live worker serves it, or (without force) runs of it are active. */
  DROVER_JOB_IN_USE: 'the job is in use',
  /** A run with that id already exists (an explicit EnqueueOptions.runId was reused). */
  DROVER_DUPLICATE_RUN: 'a run with that id already exists',
  /** The session ended before the reply to a write came back, so whether the server applied it cannot be known (docs/adr/0009-write-witness.md). */
  DROVER_WRITE_UNKNOWN: 'the outcome of a write is unknown: its session ended before the reply came',
  /** A mutating dashboard request came without the dashboard's token (or with a wrong one). */
  DROVER_UNAUTHORIZED: 'the dashboard token is missing or wrong',
  /** A cron/config/option could not be read from the command line or a file. */
  DROVER_CONFIG: 'invalid configuration',
} as const;

export type DroverCodeName = keyof typeof DroverCode;

/** Marks Drover's errors across copies of the package (a job file may import its own 'drover'). */
const DROVER_ERROR_BRAND = Symbol.for('drover.error');

export class DroverError extends Error {
  /** `err instanceof DroverError` holds for a DroverError made by any copy of the package. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this !== DroverError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[DROVER_ERROR_BRAND] === true;
  }

  declare readonly [DROVER_ERROR_BRAND]: true;
  override readonly name = 'DroverError';
  readonly code: DroverCodeName;
  /** Structured details for logs and API answers (e.g. which field failed). */
  readonly details: Record<string, unknown> | undefined;

  constructor(code: DroverCodeName, message?: string, opts: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message ?? DroverCode[code], { cause: opts.cause });
    this.code = code;
    this.details = opts.details;
  }
}
Object.defineProperty(DroverError.prototype, DROVER_ERROR_BRAND, { value: true });

export function isDroverError(err: unknown, code?: DroverCodeName): err is DroverError {
  return err instanceof DroverError && (code === undefined || err.code === code);
}

/** Normalizes anything thrown into an Error (handlers may throw strings). */
export function toError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  return new DroverError('DROVER_HANDLER_FAILED', typeof thrown === 'string' ? thrown : JSON.stringify(thrown) ?? String(thrown));
}
