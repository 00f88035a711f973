/**
 * The persistent parents every job needs (runs, leases, inflight, queue,
 * delayed, cancel, history's state directories, dead). Made once per client
 * and job; the multis of enqueue, claim and finish then never create parents.
 */
import type { Coordination } from '../client/coordination.ts';
import { isZkError } from '../client/zk-error.ts';
import { DroverError } from '../errors.ts';
import type { JobSpec } from './job-types.ts';
import { DEFAULT_ROOT, HISTORY_STATES, layout } from './layout.ts';
import { decodeJson, encodeJson } from './run-codec.ts';

const made = new WeakMap<Coordination, Set<string>>();

export async function ensureJobDirs(client: Coordination, job: string): Promise<void> {
  const done = made.get(client) ?? new Set<string>();
  made.set(client, done);
  if (done.has(job)) return;
  await Promise.all(
    [
      ...[layout.runs, layout.leases, layout.inflight, layout.lanes, layout.delayed, layout.cancels, layout.dead].map((dir) => dir(job)),
      ...HISTORY_STATES.map((state) => layout.historyDir(job, state)),
    ].map((path) => client.ensurePath(path)),
  );
  await client.ensurePath(layout.barriers);
  done.add(job);
}

/** Reads /jobs/<job>; DROVER_UNKNOWN_JOB when no worker (or enqueuer) published it. */
export async function readJobSpec(client: Coordination, job: string): Promise<JobSpec> {
  try {
    const { data } = await client.get(layout.job(job));
    return decodeJson<JobSpec>(data, `job spec ${layout.job(job)}`);
  } catch (err) {
    if (isZkError(err, 'NO_NODE')) {
      throw new DroverError('DROVER_UNKNOWN_JOB', `no job '${job}' is registered under ${client.root}: start a worker that defines it (drover worker --jobs FILE) first, or connect with the workers' root (theirs is ${DEFAULT_ROOT} unless --root says otherwise)`, {
        details: { job, root: client.root },
      });
    }
    throw err;
  }
}

/** Publishes a JobSpec at /jobs/<job> (overwriting an older one) and makes the job's parents. */
/**
 * Publishes a job's spec (the last worker to start wins); resolves to the
 * fields in which it replaced a different spec — workers of one job running
 * different definitions (another schema, other retries) — so the caller can say so.
 */
export async function publishJob(client: Coordination, spec: JobSpec): Promise<string[]> {
  await client.ensurePath(layout.jobs);
  let changed: string[] = [];
  try {
    await client.create(layout.job(spec.name), encodeJson(spec));
  } catch (err) {
    if (!isZkError(err, 'NODE_EXISTS')) throw err;
    const { data } = await client.get(layout.job(spec.name));
    let before: Record<string, unknown> = {};
    try {
      before = decodeJson<Record<string, unknown>>(data, layout.job(spec.name));
    } catch {
      // Unreadable: replaced below like any other difference.
    }
    const now = spec as unknown as Record<string, unknown>;
    changed = [...new Set([...Object.keys(before), ...Object.keys(now)])].filter((k) => JSON.stringify(before[k]) !== JSON.stringify(now[k]));
    if (changed.length > 0) await client.set(layout.job(spec.name), encodeJson(spec));
  }
  await ensureJobDirs(client, spec.name);
  return changed;
}
