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

export class MetricsHistory {
  private readonly samples: MetricsSample[] = [];
  /** Finished run keys already counted, in insertion order, bounded. */
  private readonly seen = new Set<string>();
  private lastAt: number | undefined;

  constructor(private readonly capacity = 300, private readonly seenMax = 50_000) {}

  record(at: number, counts: { depth: number; inflight: number; finished: Iterable<string> }): MetricsSample {
    let fresh = 0;
    for (const key of counts.finished) {
      if (this.seen.has(key)) continue;
      this.seen.add(key);
      fresh += 1;
    }
    while (this.seen.size > this.seenMax) {
      const oldest = this.seen.values().next().value;
      if (oldest === undefined) break;
      this.seen.delete(oldest);
    }
    const first = this.lastAt === undefined;
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
}
