/**
 * Throughput and queue depth over time, for the charts: one sample per
 * tick taken from the mirrored tree (in memory; nothing is read from the
 * cluster for it). Pure: the caller passes the time and what it counted.
 *
 * Throughput counts runs seen finished for the first time since the last
 * sample, so history pruning or a restart of the dashboard never shows as
 * negative or as a burst (the first sample only learns what is finished).
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

/** Per-job counts of one sample: runs first seen (enqueued) and first seen finished. */
interface JobCounts {
  at: number;
  enqueued: Map<string, number>;
  finished: Map<string, number>;
}

export interface JobRates {
  /** Runs enqueued per minute, over the last minute (or what the history holds of it). */
  enqueuedPerMin: number;
  finishedPerMin: number;
}

const RATE_WINDOW_MS = 60_000;

function jobOf(key: string): string {
  return key.slice(0, key.indexOf('/'));
}

export class MetricsHistory {
  private readonly samples: MetricsSample[] = [];
  private readonly perJob: JobCounts[] = [];
  /** Run keys already seen at all (for enqueue rates), bounded like `seen`. */
  private readonly known = new Set<string>();
  private windowStart = 0;
  /** Finished run keys already counted, in insertion order, bounded. */
  private readonly seen = new Set<string>();
  private lastAt: number | undefined;

  constructor(private readonly capacity = 300, private readonly seenMax = 50_000) {}

  /**
   * `finished` and `all` are run keys `<job>/<runId>`: the finished ones, and
   * every run known now (for the enqueue rate).
   */
  record(at: number, counts: { depth: number; inflight: number; finished: Iterable<string>; all?: Iterable<string> }): MetricsSample {
    const first = this.lastAt === undefined;
    const jobCounts: JobCounts = { at, enqueued: new Map(), finished: new Map() };
    let fresh = 0;
    for (const key of counts.finished) {
      if (this.seen.has(key)) continue;
      this.seen.add(key);
      fresh += 1;
      if (!first) jobCounts.finished.set(jobOf(key), (jobCounts.finished.get(jobOf(key)) ?? 0) + 1);
    }
    for (const key of counts.all ?? []) {
      if (this.known.has(key)) continue;
      this.known.add(key);
      if (!first) jobCounts.enqueued.set(jobOf(key), (jobCounts.enqueued.get(jobOf(key)) ?? 0) + 1);
    }
    for (const set of [this.seen, this.known]) {
      while (set.size > this.seenMax) {
        const oldest = set.values().next().value;
        if (oldest === undefined) break;
        set.delete(oldest);
      }
    }
    if (first) this.windowStart = at;
    else this.perJob.push(jobCounts);
    // Each sample counts what happened since the one before it; the window starts at the last one dropped.
    while (this.perJob.length > 0 && (this.perJob[0]?.at ?? at) <= at - RATE_WINDOW_MS) this.windowStart = this.perJob.shift()?.at ?? this.windowStart;
    const seconds = first ? 1 : Math.max(0.001, (at - (this.lastAt ?? at)) / 1000);
    this.lastAt = at;
    const sample = { at, throughput: first ? 0 : Math.round((fresh / seconds) * 100) / 100, depth: counts.depth, inflight: counts.inflight };
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
    const sum = (pick: (c: JobCounts) => Map<string, number>) => {
      const totals = new Map<string, number>();
      for (const c of this.perJob) for (const [job, n] of pick(c)) totals.set(job, (totals.get(job) ?? 0) + n);
      return totals;
    };
    const enq = sum((c) => c.enqueued);
    const fin = sum((c) => c.finished);
    for (const job of new Set([...enq.keys(), ...fin.keys()])) {
      out.set(job, { enqueuedPerMin: Math.round(((enq.get(job) ?? 0) / minutes) * 10) / 10, finishedPerMin: Math.round(((fin.get(job) ?? 0) / minutes) * 10) / 10 });
    }
    return out;
  }
}
