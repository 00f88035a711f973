/**
 * The dashboard's actions on runs and queues. Each one is the runtime's own
 * helper from shared/jobs (so the dashboard and the CLI change the cluster
 * exactly as a worker or producer would); this file only checks that the
 * job exists first, so an unknown name answers DROVER_UNKNOWN_JOB.
 */
import type { Coordination } from '../shared/client/coordination.ts';
import { isZkError } from '../shared/client/zk-error.ts';
import { DroverError } from '../shared/errors.ts';
import { enqueue } from '../shared/jobs/enqueue.ts';
import { layout } from '../shared/jobs/layout.ts';

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

export async function assertRunKnown(client: Coordination, job: string, runId: string): Promise<void> {
  await assertJobKnown(client, job);
  if ((await client.exists(layout.run(job, runId))) === null) {
    throw new DroverError('DROVER_RUN_NOT_FOUND', `no run '${runId}' of job '${job}'`, { details: { job, runId } });
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
      await assertRunKnown(client, job, runId);
      throw new DroverError('DROVER_INVALID_ARGUMENT', 'retry is not wired yet');
    },
    async cancel(job, runId) {
      await assertRunKnown(client, job, runId);
      try {
        await client.create(layout.cancel(job, runId));
      } catch (err) {
        if (!isZkError(err, 'NODE_EXISTS')) throw err;
      }
    },
    async pause(job) {
      await assertJobKnown(client, job);
      try {
        await client.create(layout.jobPaused(job));
      } catch (err) {
        if (!isZkError(err, 'NODE_EXISTS')) throw err;
      }
    },
    async resume(job) {
      await assertJobKnown(client, job);
      try {
        await client.delete(layout.jobPaused(job));
      } catch (err) {
        if (!isZkError(err, 'NO_NODE')) throw err;
      }
    },
  };
}
