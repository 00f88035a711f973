/**
 * Removing a job no worker serves any more: every node of it under the
 * namespace root (jobDirs below, plus its barrier run groups). The CLI's
 * `drover jobs remove` and the dashboard's bulk action call removeJob.
 *
 * Refused (DROVER_JOB_IN_USE) while a live worker lists the job, and,
 * unless `force`, while any run of it is active (inflight or leased;
 * counted as job-counts.ts does: a claim group's runs each, so a group
 * whose runs have all landed but whose nodes are still going holds nothing).
 * Deleting is O(nodes of the job), in multis of up to MULTI_OPS_MAX.
 *
 * A worker starting meanwhile publishes /jobs/<job> and then registers.
 * So /jobs/<job> goes first, conditional on the version read before the
 * worker check (a re-publish fails it), and the workers are checked again
 * after it: a worker that registered in between gets its spec back and the
 * removal stops before any run is touched. One that publishes after that
 * check finds its runs gone; its spec and directories are made again and
 * the removal reports DROVER_JOB_IN_USE.
 */
import { childrenOrEmpty } from '../client/absent-ok.ts';
import type { Coordination } from '../client/coordination.ts';
import { isZkError, ZkError } from '../client/zk-error.ts';
import { DroverError } from '../errors.ts';
import type { BarrierState } from './job-types.ts';
import { ensureJobDirs } from './job-dirs.ts';
import { layout, NAME_PATTERN } from './layout.ts';
import { MULTI_OPS_MAX } from './limits.ts';
import { activeRuns, jobNames } from './job-counts.ts';
import { readRunView } from './run-lookup.ts';
import { workersServing } from './live-workers.ts';

export interface RemovedJob {
  job: string;
  /** How many znodes were deleted. */
  nodes: number;
}

/** Every per-job directory of layout.ts, /jobs/<job> first (barrier run groups are found by name). */
export function jobDirs(job: string): string[] {
  return [
    layout.job(job),
    layout.schedule(job),
    layout.partitions(job),
    layout.queue(job),
    layout.delayed(job),
    layout.cancels(job),
    layout.history(job),
    layout.dead(job),
    layout.inflight(job),
    layout.leases(job),
    layout.runs(job),
  ];
}

function inUse(job: string, why: string, details: Record<string, unknown> = {}): DroverError {
  return new DroverError('DROVER_JOB_IN_USE', `job '${job}' ${why}`, { details: { job, ...details } });
}

export async function removeJob(client: Coordination, job: string, opts: { force?: boolean } = {}): Promise<RemovedJob> {
  if (!NAME_PATTERN.test(job)) throw new DroverError('DROVER_INVALID_ARGUMENT', `'${job}' is not a job name`);
  const present = await Promise.all(jobDirs(job).map((p) => client.exists(p)));
  if (present.every((s) => s === null)) throw new DroverError('DROVER_UNKNOWN_JOB', `no job '${job}' in ${client.root}`, { details: { job, root: client.root } });
  const spec = await readSpec(client, job);
  const serving = await workersServing(client, job);
  if (serving.length > 0) throw inUse(job, `is served by live workers (${serving.join(', ')}): stop them, or start them without this job, first`, { workers: serving });
  if (!opts.force) {
    const [inflight, leased] = await Promise.all([activeRuns(client, job, layout.inflight(job)), activeRuns(client, job, layout.leases(job))]);
    if (inflight + leased > 0) throw inUse(job, `has ${Math.max(inflight, leased)} active runs: wait for them to end or cancel them (or force the removal)`, { active: Math.max(inflight, leased) });
  }
  let nodes = 0;
  if (spec !== null) {
    nodes += await unpublish(client, job, spec.version);
    const served = await workersServing(client, job);
    if (served.length > 0) {
      await republish(client, job, spec);
      throw inUse(job, `is served by live workers (${served.join(', ')}) that started during the removal; nothing else was removed`, { workers: served });
    }
  }
  // Run groups first: telling them from another job's needs this job's runs.
  for (const group of await runGroupsOf(client, job)) nodes += await deleteTree(client, group);
  for (const dir of jobDirs(job).slice(1)) nodes += await deleteTree(client, dir);
  if ((await client.exists(layout.job(job))) !== null) {
    // A worker published the job while its directories were going: make them again for it.
    await ensureJobDirs(client, job);
    throw inUse(job, 'was published again by a worker during the removal: its runs are removed, its definition stays (restart that worker)');
  }
  return { job, nodes };
}

interface Spec {
  data: Buffer;
  version: number;
  paused: boolean;
}

async function readSpec(client: Coordination, job: string): Promise<Spec | null> {
  try {
    const [{ data, stat }, paused] = await Promise.all([client.get(layout.job(job)), client.exists(layout.jobPaused(job))]);
    return { data, version: stat.version, paused: paused !== null };
  } catch (err) {
    if (isZkError(err, 'NO_NODE')) return null;
    throw err;
  }
}

/** Deletes /jobs/<job> (and its pause mark) if still at `version`; a re-publish (BAD_VERSION) means a worker is starting. */
async function unpublish(client: Coordination, job: string, version: number): Promise<number> {
  for (let round = 0; ; round++) {
    const paused = (await client.exists(layout.jobPaused(job))) !== null;
    try {
      await client.multi([...(paused ? [{ op: 'delete' as const, path: layout.jobPaused(job) }] : []), { op: 'delete', path: layout.job(job), version }]);
      return paused ? 2 : 1;
    } catch (err) {
      if (isZkError(err, 'BAD_VERSION')) throw inUse(job, 'was published again by a worker during the removal; nothing was removed');
      if ((await client.exists(layout.job(job))) === null) return 0; // another removal got there first
      // A pause or resume crossed ours: read again.
      if (round >= 3 || !(isZkError(err, 'NOT_EMPTY') || isZkError(err, 'NO_NODE'))) throw err;
    }
  }
}

async function republish(client: Coordination, job: string, spec: Spec): Promise<void> {
  try {
    await client.multi([{ op: 'create', path: layout.job(job), data: spec.data }, ...(spec.paused ? [{ op: 'create' as const, path: layout.jobPaused(job) }] : [])]);
  } catch (err) {
    if (!isZkError(err, 'NODE_EXISTS')) throw err; // the worker published it itself
  }
}

/**
 * The job's barrier run groups, /barriers/<job>-<group>. The name alone can
 * be another job's (job `a`, group `b-x` vs job `a-b`, group `x`) or a
 * barrier recipe's: a node counts only if it holds BarrierState and, when
 * another job's name fits it too, its first member is a run of this job.
 */
async function runGroupsOf(client: Coordination, job: string): Promise<string[]> {
  const prefix = layout.runGroup(job, '');
  const names = (await childrenOrEmpty(client, layout.barriers)).map((n) => layout.barrier(n)).filter((p) => p.startsWith(prefix));
  if (names.length === 0) return [];
  const rivals = (await jobNames(client)).filter((j) => j !== job).map((j) => layout.runGroup(j, '')).filter((p) => p.startsWith(prefix));
  const mine = await Promise.all(
    names.map(async (path) => {
      let state: Partial<BarrierState>;
      try {
        state = JSON.parse((await client.get(path)).data.toString('utf8')) as Partial<BarrierState>;
      } catch {
        return false;
      }
      if (typeof state !== 'object' || state === null || typeof state.size !== 'number' || !Array.isArray(state.arrived)) return false;
      if (!rivals.some((r) => path.startsWith(r))) return true;
      const first = state.arrived[0]?.runId;
      return typeof first === 'string' && (await readRunView(client, job, first).catch(() => null)) !== null;
    }),
  );
  return names.filter((_, i) => mine[i]);
}

function childPath(parent: string, name: string): string {
  return `${parent === '/' ? '' : parent}/${name}`;
}

/** Deletes `path` and everything under it; 0 if it is gone already. */
async function deleteTree(client: Coordination, path: string): Promise<number> {
  let nodes = 0;
  for (let round = 0; ; round++) {
    const kids = await childrenOrEmpty(client, path);
    for (let i = 0; i < kids.length; i += MULTI_OPS_MAX) nodes += await deleteAll(client, kids.slice(i, i + MULTI_OPS_MAX).map((k) => childPath(path, k)));
    try {
      await client.delete(path);
      return nodes + 1;
    } catch (err) {
      if (isZkError(err, 'NO_NODE')) return nodes;
      // Something was added meanwhile (an enqueue racing the removal): go again.
      if (round >= 10 || !isZkError(err, 'NOT_EMPTY')) throw err;
    }
  }
}

/** Deletes these nodes in one multi; one with children of its own (or gone already) drops out and is dealt with alone. */
async function deleteAll(client: Coordination, paths: string[]): Promise<number> {
  let pending = paths;
  let nodes = 0;
  while (pending.length > 0) {
    try {
      await client.multi(pending.map((path) => ({ op: 'delete' as const, path })));
      return nodes + pending.length;
    } catch (err) {
      if (!(err instanceof ZkError) || err.opIndex === undefined) throw err;
      const at = err.opIndex;
      if (err.is('NOT_EMPTY')) nodes += await deleteTree(client, pending[at] as string);
      else if (!err.is('NO_NODE')) throw err;
      pending = pending.filter((_, i) => i !== at);
    }
  }
  return nodes;
}
