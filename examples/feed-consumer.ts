/**
 * feed-consumer — a partitioned consumer: a market-data feed split into 8
 * partitions, spread over every worker running this file (MetaQ ranges:
 * contiguous, balanced, at most one owner per partition). Each owned
 * partition runs `run` with ctx.partition set; it consumes until
 * ctx.signal aborts (a rebalance moved the partition, or the worker is
 * shutting down), then returns its offset so the next owner could resume.
 * Loops run in the worker's partition threads, so a busy one cannot starve
 * the worker's session; a real consumer would make its downstream writes
 * (offsets, results) conditional on ctx.fence, which names the assignment
 * generation: after a freeze, the old owner's loop can briefly overlap the
 * new owner's (docs/scheduler-and-partitions.md).
 *
 *   drover worker --jobs examples/feed-consumer.ts      # start 1..8 of these
 *
 * The feed is simulated: every partition yields a small batch of quotes a
 * few times a second, so the demo stays cheap on a laptop.
 */
import { defineJob } from '../shared/jobs/define-job.ts';

export const FEED_PARTITIONS = 8;

export interface Quote {
  symbol: string;
  priceCents: number;
  seq: number;
}

/** What this module instance consumed (in a worker, each partition thread has its own; inline, as the smoke test runs it, the process's). */
export const feedStats = { batches: 0, quotes: 0, partitionsSeen: new Set<number>() };

const SYMBOLS = ['ACME', 'GLOBX', 'INITECH', 'UMBR', 'STARK', 'WAYNE', 'HOOLI', 'PIED'];

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** One batch of the simulated feed for a partition at an offset. */
export function readBatch(partition: number, offset: number, size: number): Quote[] {
  return Array.from({ length: size }, (_, i) => {
    const seq = offset + i;
    const symbol = SYMBOLS[(partition + seq) % SYMBOLS.length] as string;
    return { symbol, priceCents: 10_000 + ((seq * 7919 + partition * 104_729) % 5_000), seq };
  });
}

export const feedConsumer = defineJob<null, { partition: number; offset: number }>({
  name: 'feed-consumer',
  partitions: FEED_PARTITIONS,
  async run(ctx) {
    const partition = ctx.partition ?? 0;
    let offset = 0;
    let high = 0;
    ctx.log.info({ partition, fence: ctx.fence }, 'consuming partition');
    feedStats.partitionsSeen.add(partition);
    while (!ctx.signal.aborted) {
      const batch = readBatch(partition, offset, 20);
      for (const q of batch) high = Math.max(high, q.priceCents);
      offset += batch.length;
      feedStats.batches++;
      feedStats.quotes += batch.length;
      if (offset % 1000 === 0) {
        ctx.log.info({ partition, offset, high }, 'feed progress');
        ctx.progress(Math.min(100, offset / 100), `offset ${offset}`);
      }
      await delay(250, ctx.signal);
    }
    ctx.log.info({ partition, offset }, 'partition released');
    return { partition, offset };
  },
});

export default feedConsumer;
