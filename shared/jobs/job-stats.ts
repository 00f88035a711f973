/**
 * A job's recent outcomes for the dashboard's charts: throughput, how long
 * runs took (p50, p95) and how many failed, over time. Bounded reads, never
 * a scan: the newest STATS_HISTORY_RUNS finished runs of history (one page,
 * listHistoryPage, newest first) and the records of the newest
 * STATS_DEAD_RUNS dead-letter nodes by name (run ids carry their enqueue
 * time; dead entries have no end time in their name).
 *
 * The window runs from the end of the oldest history run read to now; when
 * history holds no more than was read, from the oldest end among everything
 * read. Dead runs count when they ended inside it. So on a busy job the
 * window is the last STATS_HISTORY_RUNS finishes, on a quiet one everything
 * history still keeps.
 *
 *   throughputPerMin  runs ended in the window per minute
 *   durationMs        of each run's last attempt (finishedAt - startedAt),
 *                     nearest-rank percentiles; null when no run in the
 *                     window started (a run cancelled while queued never did)
 *   outcomes          runs ended in the window by final state, named as the
 *                     job page's tabs: failed is history's failed tab (ended
 *                     failed without being dead-lettered), dead the dead tab
 *   failureRate       failures / (succeeded + failed + dead), failures being
 *                     failed + dead (a handler error ends dead once its
 *                     retries are spent): a cancel is the operator's, not
 *                     the run's outcome; 0 when none ended
 *   series            per bucket (bucketMs, at most ~60 of them, empty ones
 *                     too): runs ended (`finished`: any final state, dead
 *                     included), and of those `failures` (failed + dead)
 */
import { childrenOrEmpty } from '../client/absent-ok.ts';
import type { Coordination } from '../client/coordination.ts';
import type { RunRecord } from './job-types.ts';
import { layout } from './layout.ts';
import { readRunView } from './run-lookup.ts';
import { listHistoryPage } from './run-pages.ts';

export const STATS_HISTORY_RUNS = 500;
export const STATS_DEAD_RUNS = 500;

export interface JobStats {
  window: { from: number; to: number; runs: number };
  bucketMs: number;
  throughputPerMin: number;
  durationMs: { p50: number | null; p95: number | null };
  /** Runs ended in the window by final state (the job page's tabs: failed excludes dead). */
  outcomes: { succeeded: number; failed: number; dead: number; cancelled: number };
  /** failures (failed + dead) / (succeeded + failed + dead). */
  failureRate: number;
  /** Per bucket: runs ended (any final state, dead included) and failures among them (failed + dead). */
  series: { at: number; finished: number; failures: number }[];
}

const MINUTE = 60_000;
const BUCKETS = [1, 5, 15, 60, 180, 360, 720, 1440].map((m) => m * MINUTE);
const BUCKETS_MAX = 60;

export async function jobStats(client: Coordination, job: string, nowMs: number = Date.now()): Promise<JobStats> {
  const [history, dead] = await Promise.all([listHistoryPage(client, job, { limit: STATS_HISTORY_RUNS }), newestDead(client, job)]);
  const ended = (r: RunRecord): r is RunRecord & { finishedAt: number } => r.finishedAt !== undefined && r.finishedAt <= nowMs;
  const fromHistory = history.runs.filter(ended);
  const deadRuns = dead.filter(ended);
  // More history than one page: the window is what the page spans. Else everything read.
  const basis = history.next !== null ? fromHistory : [...fromHistory, ...deadRuns];
  const from = basis.length > 0 ? Math.min(...basis.map((r) => r.finishedAt)) : nowMs;
  const runs = [...fromHistory, ...deadRuns.filter((r) => r.finishedAt >= from)];

  const count = (state: RunRecord['state']): number => runs.filter((r) => r.state === state).length;
  const outcomes = { succeeded: count('succeeded'), failed: count('failed'), dead: count('dead'), cancelled: count('cancelled') };
  const failures = outcomes.failed + outcomes.dead;
  const judged = runs.filter((r) => r.state !== 'cancelled').length;
  const durations = runs.flatMap((r) => (r.startedAt !== undefined ? [r.finishedAt - r.startedAt] : [])).sort((a, b) => a - b);
  // A window of a few ms would turn a burst into an absurd rate: at least a second.
  const spanMs = Math.max(nowMs - from, 1000);
  const bucketMs = BUCKETS.find((b) => spanMs / b <= BUCKETS_MAX) ?? Math.ceil(spanMs / BUCKETS_MAX / MINUTE) * MINUTE;
  return {
    window: { from, to: nowMs, runs: runs.length },
    bucketMs,
    throughputPerMin: (runs.length * MINUTE) / spanMs,
    durationMs: { p50: percentile(durations, 50), p95: percentile(durations, 95) },
    outcomes,
    failureRate: judged === 0 ? 0 : failures / judged,
    series: runs.length === 0 ? [] : series(runs, from, nowMs, bucketMs),
  };
}

/** The records of the newest dead-letter nodes by name (a bundled run's from its bundle). */
async function newestDead(client: Coordination, job: string): Promise<RunRecord[]> {
  const names = (await childrenOrEmpty(client, layout.dead(job))).sort().slice(-STATS_DEAD_RUNS);
  const views = await Promise.all(names.map((id) => readRunView(client, job, id)));
  return views.flatMap((v) => (v !== null && v.record.state === 'dead' ? [v.record] : []));
}

/** Nearest rank: the smallest value with at least p% of the values at or below it. */
function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

function series(runs: (RunRecord & { finishedAt: number })[], from: number, to: number, bucketMs: number): JobStats['series'] {
  const first = Math.floor(from / bucketMs) * bucketMs;
  const out: JobStats['series'] = [];
  for (let at = first; at <= to; at += bucketMs) out.push({ at, finished: 0, failures: 0 });
  for (const r of runs) {
    const b = out[Math.floor((r.finishedAt - first) / bucketMs)];
    if (!b) continue;
    b.finished++;
    if (r.state === 'failed' || r.state === 'dead') b.failures++;
  }
  return out;
}
