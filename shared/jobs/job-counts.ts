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
  /** Waiting per priority lane, lowest (first claimed) first; `tail` counts every item ever appended to it. */
  lanes: { priority: number; depth: number; tail: number }[];
  active: number;
  delayed: number;
  dead: number;
  /** In history (succeeded, failed, cancelled; dead runs are in `dead`), bounded by history.keep and maxAgeMs. */
  finished: number;
  paused: boolean;
  /**
   * Child changes of history and dead (Stat.cversion: one per create and per
   * delete). With the change of their child counts it gives finishes over
   * time without listing: created = (Δcversion + ΔnumChildren) / 2.
   */
  cversions: { history: number; dead: number };
}

export async function jobCounts(client: Coordination, job: string): Promise<JobCounts> {
  const [depth, active, delayed, dead, history, paused] = await Promise.all([
    queueDepth(client, job),
    client.exists(layout.inflight(job)),
    client.exists(layout.delayed(job)),
    client.exists(layout.dead(job)),
    client.exists(layout.history(job)),
    client.exists(layout.jobPaused(job)),
  ]);
  return {
    job,
    waiting: depth.total,
    lanes: depth.lanes,
    active: active?.numChildren ?? 0,
    delayed: delayed?.numChildren ?? 0,
    dead: dead?.numChildren ?? 0,
    finished: history?.numChildren ?? 0,
    paused: paused !== null,
    cversions: { history: history?.cversion ?? 0, dead: dead?.cversion ?? 0 },
  };
}

/** Every job the cluster knows of: defined (/jobs) or with queued or recorded runs (names only; no runs are listed). */
export async function jobNames(client: Coordination): Promise<string[]> {
  const lists = await Promise.all([layout.jobs, layout.queuesRoot, layout.runsRoot].map((p) => childrenOrEmpty(client, p)));
  return [...new Set(lists.flat())].sort();
}
