/**
 * `drover dev`'s producer: keeps the examples busy so the dashboard has
 * something to show. Every `intervalMs` it enqueues one run of the next
 * example job (round robin) with the job's `scheduleInput` (or null; a job
 * whose validate refuses that is skipped); barrier jobs get a whole group
 * at once. Scheduled jobs are left to the scheduler, partitioned jobs to
 * their partitions. It holds back while a queue already has `backlogMax`
 * runs waiting, so a stopped worker pool never piles up work.
 */
import type { Logger } from 'pino';
import type { Coordination } from '../shared/client/coordination.ts';
import { loadJobs, type Job } from '../shared/jobs/define-job.ts';
import { enqueue } from '../shared/jobs/enqueue.ts';
import { queueDepth } from '../shared/jobs/run-admin.ts';
import { layout } from '../shared/jobs/layout.ts';

export interface DemoProducer {
  stop(): Promise<void>;
}

export interface DemoProducerOptions {
  client: Coordination;
  files: string[];
  logger: Logger;
  intervalMs?: number;
  backlogMax?: number;
}

export interface DemoJob {
  job: Job;
  input: unknown;
  /** Barrier jobs: how many runs make a group. */
  groupSize?: number;
}

/** Which example jobs the producer feeds, and with what. Pure over the loaded jobs. */
export function demoJobs(jobs: Job[]): DemoJob[] {
  const out: DemoJob[] = [];
  for (const job of jobs) {
    const def = job.definition;
    if (def.schedule || def.partitions) continue;
    let input: unknown = def.scheduleInput ?? null;
    if (def.validate) {
      try {
        input = def.validate(input);
      } catch {
        continue;
      }
    }
    out.push({ job, input, ...(def.barrier ? { groupSize: def.barrier.size } : {}) });
  }
  return out;
}

export function startDemoProducer(opts: DemoProducerOptions): DemoProducer {
  const interval = opts.intervalMs ?? 1500;
  const backlogMax = opts.backlogMax ?? 20;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let turn = 0;
  let current: Promise<void> = Promise.resolve();
  let jobs: DemoJob[] | undefined;

  async function tick(): Promise<void> {
    jobs ??= demoJobs((await Promise.all(opts.files.map((f) => loadJobs(f).catch(() => [] as Job[])))).flat());
    if (jobs.length === 0) return;
    const pick = jobs[turn++ % jobs.length] as DemoJob;
    const name = pick.job.name;
    // The spec is published by the workers that run the job; until one has, wait.
    if ((await opts.client.exists(layout.job(name))) === null) return;
    if ((await queueDepth(opts.client, name)).total >= backlogMax) return;
    if (pick.groupSize) {
      const id = `demo-${Date.now().toString(36)}`;
      for (let i = 0; i < pick.groupSize; i++) await enqueue(opts.client, name, pick.input, { group: { id } });
    } else {
      await enqueue(opts.client, name, pick.input);
    }
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      current = tick()
        .catch((err: unknown) => opts.logger.warn({ err }, 'demo enqueue failed'))
        .finally(schedule);
    }, interval);
  }
  schedule();

  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await current;
    },
  };
}
