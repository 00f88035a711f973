/**
 * The executor seam: how a claimed attempt's handler is run. Two
 * implementations: InlineExecutor (on the worker's event loop; for tests and
 * benchmarks of no-op jobs, where a thread hop costs more than the job) and
 * ThreadPool (worker_threads; the default for job files, so a CPU-bound
 * handler cannot starve the session's pings).
 */
import type { Logger } from 'pino';
import { toError } from '../../shared/errors.ts';
import type { Job } from '../../shared/jobs/define-job.ts';
import type { JobContext } from '../../shared/jobs/job-types.ts';
import { checkResult } from '../../shared/jobs/payload.ts';
import { handlerError, type HandlerError } from './handler-error.ts';
import { capturingLogger, type LogCapture } from './run-logger.ts';
import { AbortLatch } from './abort-latch.ts';

export interface ExecRequest {
  job: string;
  runId: string;
  input: unknown;
  attempt: number;
  fence: string;
  partition?: number;
}

/** Called as methods (`hooks.progress(...)`): a hooks object may be a class instance, such as the attempt's ActiveRun. */
export interface ExecHooks {
  progress(pct: number, message?: string): void;
  log(...args: Parameters<LogCapture>): void;
}

export type ExecOutcome =
  /** bytes: the result's size as UTF-8 JSON (a bundled run's share of its record is checked against it). */
  | { ok: true; result: unknown; bytes: number }
  /** permanent: retrying cannot help (the input fails validation). */
  | {
      ok: false;
      /** Made where the handler threw (handler-error.ts): with its class name, stack, and noRetry. */
      error: HandlerError;
      permanent: boolean;
      /** Not the handler's doing (its thread was replaced under it): re-queue, not an attempt. */
      handBack?: boolean;
    };

export interface Executor {
  execute(req: ExecRequest, hooks: ExecHooks, abort: AbortLatch): Promise<ExecOutcome>;
  close(): Promise<void>;
}

/**
 * Runs one attempt's handler: re-validates the input (a failure is
 * permanent), runs it with its ctx, checks the result is JSON within bounds.
 * Shared by both executors; `log` is the run's base logger (its lines also
 * go to hooks.log).
 */
export async function runHandler(job: Job, req: ExecRequest, hooks: ExecHooks, signal: AbortSignal | AbortLatch, log: Logger): Promise<ExecOutcome> {
  let input: unknown = req.input;
  if (job.definition.validate) {
    try {
      input = job.definition.validate(input);
    } catch (thrown) {
      return { ok: false, error: { code: 'DROVER_INVALID_PAYLOAD', message: `input rejected at claim: ${toError(thrown).message}` }, permanent: true };
    }
  }
  // signal, log and progress are made on first use: most short handlers touch none of them, and a
  // controller, a pino child and closures per run are a real share of such a run's cost.
  let runLog: Logger | undefined;
  let progress: JobContext['progress'] | undefined;
  const ctx: JobContext = {
    runId: req.runId,
    job: req.job,
    attempt: req.attempt,
    fence: req.fence,
    partition: req.partition,
    get signal() {
      return signal instanceof AbortLatch ? signal.signal : signal;
    },
    get log() {
      runLog ??= capturingLogger(log.child({ job: req.job, runId: req.runId, attempt: req.attempt }), (level, msg, fields) => hooks.log(level, msg, fields));
      return runLog;
    },
    get progress() {
      progress ??= (pct, message) => hooks.progress(pct, message);
      return progress;
    },
  };
  try {
    const result = await job.definition.run(ctx, input as never);
    const checked = checkResult(result);
    return { ok: true, result: checked.value, bytes: checked.bytes };
  } catch (thrown) {
    return { ok: false, error: handlerError(thrown), permanent: false };
  }
}

export class InlineExecutor implements Executor {
  private readonly jobs: Map<string, Job>;

  constructor(
    jobs: Job[],
    private readonly logger: Logger,
  ) {
    this.jobs = new Map(jobs.map((j) => [j.name, j]));
  }

  execute(req: ExecRequest, hooks: ExecHooks, abort: AbortLatch): Promise<ExecOutcome> {
    const job = this.jobs.get(req.job);
    if (!job) return Promise.resolve({ ok: false, error: { code: 'DROVER_UNKNOWN_JOB', message: `no job '${req.job}' here` }, permanent: false });
    return runHandler(job, req, hooks, abort, this.logger);
  }

  async close(): Promise<void> {}
}
