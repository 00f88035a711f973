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
import { runHandler } from './executor.ts';
import type { LogLevel } from './run-logger.ts';
import type { FromThread, FromThreadBatch, ThreadData, ToThreadBatch } from './thread-messages.ts';

const port = parentPort;
if (!port) throw new Error('thread-entry.ts runs only as a worker thread');
// The outcomes of one turn go back as one message (the main thread takes batches). Progress and
// log lines go at once: a handler that spins the CPU reports them before it yields, and a run's
// lines still precede its outcome.
let outbox: FromThreadBatch = [];
const flush = (): void => {
  const batch = outbox;
  outbox = [];
  port.postMessage(batch);
};
const send = (m: FromThread): void => {
  if (m.t !== 'done') port.postMessage([m] satisfies FromThreadBatch);
  else if (outbox.push(m) === 1) setImmediate(flush);
};
const silent = pino({ level: 'trace', enabled: false });
// A latch, not an AbortController, per attempt: the signal is made only if the handler asks.
const controllers = new Map<number, AbortLatch>();
const jobs = new Map<string, Job>();

try {
  for (const file of (workerData as ThreadData).files) for (const job of await loadJobs(file)) jobs.set(job.name, job);
  const onMessage = (m: ToThreadBatch[number]): void => {
    if (m.t === 'abort') {
      controllers.get(m.id)?.abort(new DroverError(m.code as never, m.message));
      return;
    }
    const job = jobs.get(m.req.job);
    const controller = new AbortLatch();
    controllers.set(m.id, controller);
    const hooks = {
      progress: (pct: number, message?: string) => send({ t: 'progress', id: m.id, pct, ...(message !== undefined ? { message } : {}) }),
      log: (level: LogLevel, msg: string, fields?: Record<string, unknown>) => send({ t: 'log', id: m.id, level, msg, ...(fields ? { fields } : {}) }),
    };
    const outcome = job
      ? runHandler(job, m.req, hooks, controller, silent)
      : Promise.resolve({ ok: false as const, error: { code: 'DROVER_UNKNOWN_JOB', message: `no job '${m.req.job}' in the job files` }, permanent: false });
    void outcome.then((o) => {
      controllers.delete(m.id);
      send({ t: 'done', id: m.id, outcome: o });
    });
  };
  port.on('message', (batch: ToThreadBatch) => {
    for (const m of batch) onMessage(m);
  });
  send({ t: 'ready', jobs: [...jobs.keys()] });
} catch (err) {
  send({ t: 'load-failed', message: (err as Error).message });
}
