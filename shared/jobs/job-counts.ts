/**
 * A job's counts, at a cost that never grows with the backlog or the
 * history: lane tail − head, and the number of children ZooKeeper keeps in
 * every Stat, for every state but active. Succeeded, failed and cancelled
 * are the child counts of their history directories (history is split by
 * final state for this). Active lists /inflight/<job> (one getChildren) and
 * reads each claim group's inflight (claim-group.ts: one read per group),
 * so it costs O(open claims), bounded by the workers' total concurrency;
 * a group counts the runs its inflight lists, which may for a moment still
 * include runs whose finish just landed. Counts are otherwise of records: a
 * bundle (docs/adr/0006-run-bundles.md) counts once in waiting, active and
 * delayed, and once in each of succeeded, failed and cancelled its runs
 * ended in (an entry per state: history-entries.ts); dead entries name runs.
 */
import { childrenOrEmpty } from '../client/absent-ok.ts';
import type { Coordination } from '../client/coordination.ts';
import { expandInflight } from './claim-group.ts';
import { layout } from './layout.ts';
import { queueDepth } from './run-admin.ts';

export interface JobCounts {
  job: string;
  waiting: number;
  /** Waiting per priority lane, lowest (first claimed) first; `tail` counts every item ever appended to it. */
  lanes: { priority: number; depth: number; tail: number }[];
  /** Runs claimed and not finished (a claim group's runs each, a bundle once): see the top. */
  active: number;
  delayed: number;
  dead: number;
  /** Entries in history/<job>/succeeded: runs that succeeded (a bundle with any counts once), bounded by history.keep and maxAgeMs. */
  succeeded: number;
  /** Entries in history/<job>/failed: runs that ended failed without being dead-lettered (input refused, a bundled result too large). */
  failed: number;
  /** Entries in history/<job>/cancelled. */
  cancelled: number;
  /** succeeded + failed + cancelled: every entry in history (dead runs are in `dead`). */
  finished: number;
  paused: boolean;
  /**
   * Child changes of history (the sum over its state directories) and dead
   * (Stat.cversion: one per create and per delete). With the change of
   * their child counts it gives finishes over time without listing:
   * created = (Δcversion + ΔnumChildren) / 2, which sums over directories.
   */
  cversions: { history: number; dead: number };
}

export async function jobCounts(client: Coordination, job: string): Promise<JobCounts> {
  const [depth, active, delayed, dead, paused, succeeded, failed, cancelled] = await Promise.all([
    queueDepth(client, job),
    activeRuns(client, job, layout.inflight(job)),
    client.exists(layout.delayed(job)),
    client.exists(layout.dead(job)),
    client.exists(layout.jobPaused(job)),
    client.exists(layout.historyDir(job, 'succeeded')),
    client.exists(layout.historyDir(job, 'failed')),
    client.exists(layout.historyDir(job, 'cancelled')),
  ]);
  const history = [succeeded, failed, cancelled];
  return {
    job,
    waiting: depth.total,
    lanes: depth.lanes,
    active,
    delayed: delayed?.numChildren ?? 0,
    dead: dead?.numChildren ?? 0,
    succeeded: succeeded?.numChildren ?? 0,
    failed: failed?.numChildren ?? 0,
    cancelled: cancelled?.numChildren ?? 0,
    finished: history.reduce((n, s) => n + (s?.numChildren ?? 0), 0),
    paused: paused !== null,
    cversions: { history: history.reduce((n, s) => n + (s?.cversion ?? 0), 0), dead: dead?.cversion ?? 0 },
  };
}

/**
 * The runs the children of /inflight/<job> or /leases/<job> (`dir`) stand
 * for: a claim group's as its inflight lists them now (one read per group;
 * its lease keeps the claim's first list), one for a run's or a bundle's
 * name. One getChildren: O(open claims).
 */
export async function activeRuns(client: Coordination, job: string, dir: string): Promise<number> {
  const expanded = await expandInflight(client, job, await childrenOrEmpty(client, dir));
  return expanded.reduce((n, e) => n + (e.runs?.length ?? 1), 0);
}

/** Every job the cluster knows of: defined (/jobs) or with queued or recorded runs (names only; no runs are listed). */
export async function jobNames(client: Coordination): Promise<string[]> {
  const lists = await Promise.all([layout.jobs, layout.queuesRoot, layout.runsRoot].map((p) => childrenOrEmpty(client, p)));
  return [...new Set(lists.flat())].sort();
}
