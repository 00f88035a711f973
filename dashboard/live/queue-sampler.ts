/**
 * The queues view and the charts' samples, from O(1) reads per job each
 * tick (shared/jobs/job-counts.ts: lane heads and tails, Stat.numChildren
 * and Stat.cversion), never from a listing: the same cost at ten runs and at
 * a million. Rates come from counters the cluster keeps anyway: a lane's
 * tail counts every item appended to it (enqueued), and history's state
 * directories plus dead gain one child per finished run (created =
 * (Δcversion + ΔnumChildren) / 2, since pruning deletes add to cversion and
 * take from numChildren alike; job-counts.ts sums both over the state
 * directories, and the formula sums with them).
 *
 * Counts are of records, as the job page's counts are: a bundle is one (one
 * per final state its runs ended in, for history); a claim group's runs
 * count one each (shared/jobs/claim-group.ts), in inflight and active alike.
 */
import type { Coordination } from '../../shared/client/coordination.ts';
import { jobCounts, jobNames, type JobCounts } from '../../shared/jobs/job-counts.ts';
import type { QueueView } from '../model/cluster-view.ts';
import type { MetricsHistory, MetricsSample } from '../model/metrics-history.ts';

export interface QueueSamplerSources {
  /** The job's published spec (from the structure mirror), if any. */
  spec(job: string): Record<string, unknown> | undefined;
  /** Runs held by the job's live leases (from the structure mirror; a claim group's runs each). */
  leases(job: string): number;
}

/** Where a job's counters stand: when one changes between samples, so did what it marks. */
export interface JobMarks {
  /** Appended so far and waiting: the next waiting runs. */
  lanes: string;
  /** Child changes of history and dead: finished runs. */
  finished: string;
}

interface Previous {
  appended: number;
  history: { n: number; cv: number };
  dead: { n: number; cv: number };
}

function appended(c: JobCounts): number {
  return c.lanes.reduce((s, l) => s + l.tail, 0);
}

/** Children created between two reads of one directory; 0 when it was remade (counters went back). */
function created(before: { n: number; cv: number }, after: { n: number; cv: number }): number {
  const changes = after.cv - before.cv;
  if (changes < 0) return 0;
  return Math.max(0, Math.round((changes + (after.n - before.n)) / 2));
}

export class QueueSampler {
  private readonly previous = new Map<string, Previous>();

  constructor(
    private readonly client: Coordination,
    private readonly sources: QueueSamplerSources,
    private readonly metrics: MetricsHistory,
  ) {}

  /** Reads every job's counts once; the queues view and one chart sample. */
  async sample(at: number): Promise<{ queues: QueueView[]; sample: MetricsSample; marks: Map<string, JobMarks> }> {
    const names = await jobNames(this.client);
    const counts = await Promise.all(names.map((job) => jobCounts(this.client, job)));
    const perJob = new Map<string, { enqueued: number; finished: number }>();
    let finished = 0;
    for (const c of counts) {
      const now: Previous = {
        appended: appended(c),
        history: { n: c.finished, cv: c.cversions.history },
        dead: { n: c.dead, cv: c.cversions.dead },
      };
      const before = this.previous.get(c.job);
      this.previous.set(c.job, now);
      if (!before) continue; // the first read only learns where the counters stand
      const job = { enqueued: Math.max(0, now.appended - before.appended), finished: created(before.history, now.history) + created(before.dead, now.dead) };
      perJob.set(c.job, job);
      finished += job.finished;
    }
    for (const job of this.previous.keys()) if (!names.includes(job)) this.previous.delete(job);
    const sample = this.metrics.record(at, {
      depth: counts.reduce((s, c) => s + c.waiting, 0),
      inflight: counts.reduce((s, c) => s + c.active, 0),
      finished,
      perJob,
    });
    const rates = this.metrics.rates();
    const queues = counts.map((c): QueueView => {
      const view: QueueView = {
        job: c.job,
        paused: c.paused,
        depth: c.waiting,
        inflight: c.active,
        active: this.sources.leases(c.job),
        delayed: c.delayed,
        dead: c.dead,
        history: c.finished,
        succeeded: c.succeeded,
        failed: c.failed,
        cancelled: c.cancelled,
        enqueuedPerMin: rates.get(c.job)?.enqueuedPerMin ?? 0,
        finishedPerMin: rates.get(c.job)?.finishedPerMin ?? 0,
      };
      const spec = this.sources.spec(c.job);
      if (spec) view.spec = spec;
      return view;
    });
    const marks = new Map(counts.map((c): [string, JobMarks] => [c.job, { lanes: `${appended(c)}/${c.waiting}`, finished: `${c.cversions.history}/${c.cversions.dead}` }]));
    return { queues, sample, marks };
  }
}
