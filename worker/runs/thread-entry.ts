/**
 * A handler thread: loads the job files, then runs attempts as the main
 * thread asks, many at once (handlers are async), bridging ctx.progress and
 * ctx.log back by message. Its own logger is silent: the main thread logs
 * each line through the run's logger.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { pino } from 'pino';
import { DroverError } from '../../shared/errors.ts';
import type { Job } from '../../shared/jobs/define-job.ts';
import { loadJobs } from '../../shared/jobs/load-jobs.ts';
import { AbortLatch } from './abort-latch.ts';
import { runHandler, type ExecOutcome, type ExecRequest } from './executor.ts';
import type { LogLevel } from './run-logger.ts';
import { addOutcome, emptyDone, runAt, type FromThread, type FromThreadBatch, type ThreadData, type ToThreadBatch } from './thread-messages.ts';

const port = parentPort;
if (!port) throw new Error('thread-entry.ts runs only as a worker thread');
// The outcomes of one turn go back as one message (the main thread takes batches). Progress and
// log lines go at once: a handler that spins the CPU reports them before it yields, and a run's
// lines still precede its outcome.
let done = emptyDone();
const flush = (): void => {
  const batch: FromThreadBatch = [done];
  done = emptyDone();
  port.postMessage(batch);
};
const send = (m: FromThread): void => {
  port.postMessage([m] satisfies FromThreadBatch);
};
const finished = (id: number, o: ExecOutcome): void => {
  addOutcome(done, id, o);
  if (done.ids.length === 1) setImmediate(flush);
};
const silent = pino({ level: 'trace', enabled: false });
// A latch, not an AbortController, per attempt: the signal is made only if the handler asks.
const controllers = new Map<number, AbortLatch>();
const jobs = new Map<string, Job>();

try {
  for (const file of (workerData as ThreadData).files) for (const job of await loadJobs(file)) jobs.set(job.name, job);
  const start = (id: number, req: ExecRequest): void => {
    const job = jobs.get(req.job);
    const controller = new AbortLatch();
    controllers.set(id, controller);
    const hooks = {
      progress: (pct: number, message?: string) => send({ t: 'progress', id, pct, ...(message !== undefined ? { message } : {}) }),
      log: (level: LogLevel, msg: string, fields?: Record<string, unknown>) => send({ t: 'log', id, level, msg, ...(fields ? { fields } : {}) }),
    };
    const outcome = job
      ? runHandler(job, req, hooks, controller, silent)
      : Promise.resolve({ ok: false as const, error: { code: 'DROVER_UNKNOWN_JOB', message: `no job '${req.job}' in the job files` }, permanent: false });
    void outcome.then((o) => {
      controllers.delete(id);
      finished(id, o);
    });
  };
  port.on('message', (batch: ToThreadBatch) => {
    for (const m of batch) {
      if (m.t === 'abort') controllers.get(m.id)?.abort(new DroverError(m.code as never, m.message));
      else for (let i = 0; i < m.ids.length; i++) start(m.ids[i] as number, runAt(m, i));
    }
  });
  send({ t: 'ready', jobs: [...jobs.keys()] });
} catch (err) {
  send({ t: 'load-failed', message: (err as Error).message });
}
