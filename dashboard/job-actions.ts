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
import { removeJob } from '../shared/jobs/job-remove.ts';
import { cancelRun, pauseJob, promoteRun, resumeJob, retryRun } from '../shared/jobs/run-admin.ts';
import { cleanRuns, type CleanOptions } from '../shared/jobs/run-clean.ts';
import { retryAll, type RetryAllResult, type RetryAllState } from '../shared/jobs/run-retry-all.ts';

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
  /** Bulk actions: every failed or dead run queued again; finished runs older than an age deleted; a delayed run claimable now; the job itself gone. */
  retryAll(job: string, state: RetryAllState): Promise<RetryAllResult>;
  clean(job: string, opts: Omit<CleanOptions, 'nowMs'>): Promise<{ removed: number }>;
  promote(job: string, runId: string): Promise<void>;
  remove(job: string, opts: { force?: boolean }): Promise<void>;
}

/** For a job's reads: its definition, or runs of it left after the definition went; else DROVER_UNKNOWN_JOB (404), as the actions answer. */
export async function assertJobPresent(client: Coordination, job: string): Promise<void> {
  if ((await client.exists(layout.job(job))) !== null || (await client.exists(layout.runs(job))) !== null) return;
  throw new DroverError('DROVER_UNKNOWN_JOB', `no job '${job}' in this cluster`, { details: { job } });
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
    async retryAll(job, state) {
      await assertJobKnown(client, job);
      return retryAll(client, job, state);
    },
    async clean(job, opts) {
      await assertJobKnown(client, job);
      return cleanRuns(client, job, opts);
    },
    async promote(job, runId) {
      await assertJobKnown(client, job);
      await promoteRun(client, job, runId);
    },
    // No assertJobKnown: a job whose definition is gone may still have runs to remove (removeJob says DROVER_UNKNOWN_JOB when nothing is left).
    async remove(job, opts) {
      await removeJob(client, job, opts);
    },
  };
}
