/**
 * A job's counts from O(1) sources: lane tail − head, and the number of
 * children ZooKeeper keeps in every Stat. Nothing is listed, so the cost is
 * the same at ten runs and at a million. Counts are of records: a bundle
 * (docs/adr/0006-run-bundles.md) counts once in waiting, active, delayed and
 * finished; dead entries name runs. Finished runs are not split by state
 * (history holds them in one directory); the per-state tabs list them.
 */
import { childrenOrEmpty } from '../client/absent-ok.ts';
import type { Coordination } from '../client/coordination.ts';
import { layout } from './layout.ts';
import { queueDepth } from './run-admin.ts';

export interface JobCounts {
  job: string;
  waiting: number;
  /** Waiting per priority lane, lowest (first claimed) first. */
  lanes: { priority: number; depth: number }[];
  active: number;
  delayed: number;
  dead: number;
  /** In history (succeeded, failed, cancelled; dead runs are in `dead`), bounded by history.keep and maxAgeMs. */
  finished: number;
  paused: boolean;
}

async function childCount(client: Coordination, path: string): Promise<number> {
  return (await client.exists(path))?.numChildren ?? 0;
}

export async function jobCounts(client: Coordination, job: string): Promise<JobCounts> {
  const [depth, active, delayed, dead, finished, paused] = await Promise.all([
    queueDepth(client, job),
    childCount(client, layout.inflight(job)),
    childCount(client, layout.delayed(job)),
    childCount(client, layout.dead(job)),
    childCount(client, layout.history(job)),
    client.exists(layout.jobPaused(job)),
  ]);
  return { job, waiting: depth.total, lanes: depth.lanes, active, delayed, dead, finished, paused: paused !== null };
}

/** Every job the cluster knows of: defined (/jobs) or with queued or recorded runs (names only; no runs are listed). */
export async function jobNames(client: Coordination): Promise<string[]> {
  const lists = await Promise.all([layout.jobs, layout.queuesRoot, layout.runsRoot].map((p) => childrenOrEmpty(client, p)));
  return [...new Set(lists.flat())].sort();
}
