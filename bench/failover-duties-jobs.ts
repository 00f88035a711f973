/**
 * The job file of `npm run bench:duties` (bench/failover-duties.bench.ts),
 * loaded by its `drover worker` processes: one of each kind of duty a worker
 * can hold when it is killed.
 */
import { defineJob } from '../shared/jobs/define-job.ts';

/** Resolves when the attempt is aborted: the handler holds its run (and lease) until the worker goes. */
function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/** A long-running run in flight: its lease is the killed worker's, and the survivor must get the run. */
export const dutiesHold = defineJob<Record<string, never>, string>({
  name: 'duties-hold',
  concurrency: 1,
  retries: 0,
  run: async (ctx) => {
    await untilAborted(ctx.signal);
    return 'released';
  },
});

export const DUTIES_PARTITIONS = 8;

/** A partitioned job: each partition's loop runs until its ownership moves. */
export const dutiesParts = defineJob<null, number>({
  name: 'duties-parts',
  partitions: DUTIES_PARTITIONS,
  run: async (ctx) => {
    await untilAborted(ctx.signal);
    return ctx.partition ?? 0;
  },
});

/** Fires every second: a dead scheduler shows as late ticks. */
export const dutiesTick = defineJob<null, number>({
  name: 'duties-tick',
  schedule: '* * * * * *',
  run: (ctx) => ctx.attempt,
});
