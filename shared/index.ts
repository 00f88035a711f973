/**
 * What a job file or an application imports (`import { defineJob } from
 * 'drover'`): the job model, enqueue and run administration, the client and
 * its errors. Recipes are `drover/recipes`, the worker runtime `drover/worker`.
 */
export { defineJob, type Job } from './jobs/define-job.ts';
export { loadJobs } from './jobs/load-jobs.ts';
export { enqueue, enqueueWith, type EnqueueOptions, type EnqueueItem } from './jobs/enqueue.ts';
export { getRun, listRuns, cancelRun, retryRun, pauseJob, resumeJob, isPaused, queueDepth } from './jobs/run-admin.ts';
export { waitForRun, type WaitForRunOptions } from './jobs/wait-for-run.ts';
export type {
  JobDefinition,
  JsonSchema,
  JobContext,
  RunRecord,
  RunState,
  RunError,
  RunLogLine,
  AttemptRecord,
  AttemptOutcome,
  Backoff,
  MisfirePolicy,
  BarrierOptions,
  JobSpec,
  WorkerInfo,
} from './jobs/job-types.ts';
export { DEFAULT_ROOT } from './jobs/layout.ts';
export { connectCoordination, type ConnectOptions } from './client/zk-client.ts';
export type { Coordination, ConnectionState, StateChange, Stat, Op, OpResult, Watcher, WatchEvent, CreateMode, Acl } from './client/coordination.ts';
export { exponentialBackoff, retryNTimes, retryUntilElapsed, noRetry, type RetryPolicy } from './client/retry.ts';
export { ZkError, ZkCode, isZkError } from './client/zk-error.ts';
export { DroverError, DroverCode, isDroverError, type DroverCodeName } from './errors.ts';
export { NonRetryableError, isNonRetryable } from './non-retryable-error.ts';
