/**
 * The worker's presence: /workers/w-NNNNNNNNNN, EPHEMERAL_SEQUENTIAL, holding
 * WorkerInfo. It lives exactly as long as the session; after LOST the
 * runtime registers again on the new session (a new w- number).
 */
import os from 'node:os';
import type { Coordination } from '../shared/client/coordination.ts';
import type { WorkerInfo } from '../shared/jobs/job-types.ts';
import { layout } from '../shared/jobs/layout.ts';
import { encodeJson } from '../shared/jobs/run-codec.ts';

export function workerInfo(jobs: string[], capacity: number, startedAt: number): WorkerInfo {
  return { v: 1, host: os.hostname(), pid: process.pid, jobs, capacity, startedAt };
}

/** Registers; resolves to the worker's id (its node name, w-NNNNNNNNNN). */
export async function registerWorker(client: Coordination, info: WorkerInfo): Promise<string> {
  await client.ensurePath(layout.workers);
  const path = await client.create(layout.workerPrefix, encodeJson(info), { mode: 'ephemeral_sequential' });
  return path.slice(path.lastIndexOf('/') + 1);
}

export async function markDraining(client: Coordination, workerId: string, info: WorkerInfo): Promise<void> {
  await client.set(layout.worker(workerId), encodeJson({ ...info, draining: true }));
}
