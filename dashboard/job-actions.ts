/**
 * The dashboard's actions on runs and queues. Each one is the runtime's own
 * helper from shared/jobs (so the dashboard and the CLI change the cluster
 * exactly as a worker or producer would); this file only checks that the
 * job exists first, so an unknown name answers DROVER_UNKNOWN_JOB.
 */
import type { Coordination } from '../shared/client/coordination.ts';
import { DroverError } from '../shared/errors.ts';
import { enqueue } from '../shared/jobs/enqueue.ts';
import { layout } from '../shared/jobs/layout.ts';
import { cancelRun, pauseJob, resumeJob, retryRun } from '../shared/jobs/run-admin.ts';

export interface EnqueueRequest {
  input?: unknown;
  delayMs?: number;
  priority?: number;
}

export interface JobActions {
  enqueue(job: string, req: EnqueueRequest): Promise<{ runId: string }>;
  retry(job: string, runId: string): Promise<void>;
  cancel(job: string, runId: string): Promise<void>;
  pause(job: string): Promise<void>;
  resume(job: string): Promise<void>;
}

export async function assertJobKnown(client: Coordination, job: string): Promise<void> {
  if ((await client.exists(layout.job(job))) === null) {
    throw new DroverError('DROVER_UNKNOWN_JOB', `no job '${job}' is defined in this cluster (a worker defines it when it starts with it in --jobs)`, { details: { job } });
  }
}

export function clusterActions(client: Coordination): JobActions {
  return {
    async enqueue(job, req) {
      await assertJobKnown(client, job);
      const opts = { ...(req.delayMs !== undefined ? { delayMs: req.delayMs } : {}), ...(req.priority !== undefined ? { priority: req.priority } : {}) };
      const runId = await enqueue(client, job, req.input ?? null, opts);
      return { runId };
    },
    async retry(job, runId) {
      await assertJobKnown(client, job);
      await retryRun(client, job, runId);
    },
    async cancel(job, runId) {
      await assertJobKnown(client, job);
      await cancelRun(client, job, runId);
    },
    async pause(job) {
      await assertJobKnown(client, job);
      await pauseJob(client, job);
    },
    async resume(job) {
      await assertJobKnown(client, job);
      await resumeJob(client, job);
    },
  };
}
