/**
 * Throughput and queue depth over time, for the charts, and per-job rates
 * for the queues view: one sample per tick from what the live model counted
 * (dashboard/live/queue-sampler.ts; nothing is listed for it). Pure: the
 * caller passes the time and the counts.
 */

export interface MetricsSample {
  at: number;
  /** Runs that finished since the previous sample, per second. */
  throughput: number;
  /** Runs waiting, summed over queues. */
  depth: number;
  /** Runs claimed and not finished. */
  inflight: number;
}

export interface JobRates {
  /** Runs enqueued per minute, over the last minute (or what the history holds of it). */
  enqueuedPerMin: number;
  finishedPerMin: number;
}

/** What happened to one job since the previous sample. */
export interface JobDelta {
  enqueued: number;
  finished: number;
}

const RATE_WINDOW_MS = 60_000;

export class MetricsHistory {
  private readonly samples: MetricsSample[] = [];
  private readonly perJob: { at: number; jobs: Map<string, JobDelta> }[] = [];
  private windowStart = 0;
  private lastAt: number | undefined;

  constructor(private readonly capacity = 300) {}

  /** `finished` and `perJob` count what happened since the previous sample (the first one only starts the clock). */
  record(at: number, counts: { depth: number; inflight: number; finished: number; perJob?: Map<string, JobDelta> }): MetricsSample {
    const first = this.lastAt === undefined;
    if (first) this.windowStart = at;
    else this.perJob.push({ at, jobs: counts.perJob ?? new Map() });
    // Each sample counts what happened since the one before it; the window starts at the last one dropped.
    while (this.perJob.length > 0 && (this.perJob[0]?.at ?? at) <= at - RATE_WINDOW_MS) this.windowStart = this.perJob.shift()?.at ?? this.windowStart;
    const seconds = first ? 1 : Math.max(0.001, (at - (this.lastAt ?? at)) / 1000);
    this.lastAt = at;
    const sample = { at, throughput: first ? 0 : Math.round((Math.max(0, counts.finished) / seconds) * 100) / 100, depth: counts.depth, inflight: counts.inflight };
    this.samples.push(sample);
    if (this.samples.length > this.capacity) this.samples.shift();
    return sample;
  }

  series(): MetricsSample[] {
    return [...this.samples];
  }

  /** Per job: runs in and out per minute over the last minute. */
  rates(): Map<string, JobRates> {
    const out = new Map<string, JobRates>();
    const newest = this.perJob[this.perJob.length - 1]?.at;
    if (newest === undefined) return out;
    const minutes = Math.max(newest - this.windowStart, 1000) / 60_000;
    const totals = new Map<string, JobDelta>();
    for (const s of this.perJob) {
      for (const [job, d] of s.jobs) {
        const t = totals.get(job) ?? { enqueued: 0, finished: 0 };
        totals.set(job, { enqueued: t.enqueued + d.enqueued, finished: t.finished + d.finished });
      }
    }
    for (const [job, t] of totals) {
      out.set(job, { enqueuedPerMin: Math.round((t.enqueued / minutes) * 10) / 10, finishedPerMin: Math.round((t.finished / minutes) * 10) / 10 });
    }
    return out;
  }
}
