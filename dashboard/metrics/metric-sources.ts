/**
 * What GET /metrics reads from the live model, and nothing else does: the
 * model is moving to O(1) counts and paged lists, and only these functions
 * need to follow it. Each is a read of what the dashboard already holds;
 * none touches the cluster.
 */
import type { MemberSample } from '../ensemble/ensemble-probe.ts';
import type { LiveState } from '../live/live-state.ts';
import { TERMINAL_STATES } from '../model/cluster-view.ts';

/**
 * A job's runs by state. The states are disjoint (history keeps a directory
 * per final state; dead runs are not in history), except that a bundle whose
 * runs ended in several final states counts once in each: counts are of
 * records (shared/jobs/job-counts.ts). `leased` is the part of `inflight`
 * whose worker holds a live lease.
 */
export interface JobRunCounts {
  job: string;
  paused: boolean;
  queued: number;
  delayed: number;
  inflight: number;
  /** Kept in history by final state, each bounded by its pruning (history.keep per state, maxAgeMs); dead-lettered runs are `dead`. */
  succeeded: number;
  /** Ended failed without being dead-lettered (input refused at claim, a bundled result too large). */
  failed: number;
  cancelled: number;
  dead: number;
  leased: number;
  /** Over the last minute, as the dashboard saw runs appear and finish. */
  enqueuedPerMin: number;
  finishedPerMin: number;
}

export function jobRunCounts(live: LiveState): JobRunCounts[] {
  return live.view().queues.map((q) => ({
    job: q.job,
    paused: q.paused,
    queued: q.depth,
    delayed: q.delayed,
    inflight: q.inflight,
    succeeded: q.succeeded,
    failed: q.failed,
    cancelled: q.cancelled,
    dead: q.dead,
    leased: q.active,
    enqueuedPerMin: q.enqueuedPerMin ?? 0,
    finishedPerMin: q.finishedPerMin ?? 0,
  }));
}

export interface WorkerCounts {
  workers: number;
  draining: number;
  /** Run slots over workers that state a capacity. */
  capacity: number;
  /** Runs the workers hold now. */
  running: number;
}

export function workerCounts(live: LiveState): WorkerCounts {
  const workers = live.view().workers;
  return {
    workers: workers.length,
    draining: workers.filter((w) => w.draining).length,
    capacity: workers.reduce((n, w) => n + (w.capacity ?? 0), 0),
    running: workers.reduce((n, w) => n + w.running.length, 0),
  };
}

export interface FinishedRun {
  /** Unique per finish: a run retried and finished again is a new one. */
  key: string;
  job: string;
  state: string;
  seconds: number;
}

/**
 * Finished runs the view holds that say when they started and ended: the
 * live table's, which sees a run finish when it saw it leased (a run
 * shorter than the mirror's reaction can pass unseen).
 */
export function finishedRuns(live: LiveState): FinishedRun[] {
  const out: FinishedRun[] = [];
  for (const r of live.view().runs) {
    if (!TERMINAL_STATES.has(r.state) || r.startedAt === undefined || r.finishedAt === undefined || r.finishedAt < r.startedAt) continue;
    out.push({ key: `${r.job}/${r.id}@${r.finishedAt}`, job: r.job, state: r.state, seconds: (r.finishedAt - r.startedAt) / 1000 });
  }
  return out;
}

/** The ensemble probe's latest srvr/mntr sample of every member (no probe is made for a scrape). */
export function ensembleMembers(live: LiveState): MemberSample[] {
  return live.ensemble();
}
