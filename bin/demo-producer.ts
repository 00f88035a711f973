/**
 * `drover dev`'s producer: keeps the examples busy so the dashboard has
 * something to show. Each feed enqueues one example's runs on its own beat
 * — images through the pipeline (every so often one whose origin fails
 * first, to show retries, and rarely one that never recovers, to show a
 * dead run and the retry button), a word count map-reduce group behind its
 * barrier, a report for a past day by hand, a burst of clickstream events
 * scored in bundles. A feed waits until a worker has
 * published its job, and holds back while `backlogMax` runs already wait,
 * so a stopped worker pool never piles up work.
 */
import type { Logger } from 'pino';
import type { Coordination } from '../shared/client/coordination.ts';
import { enqueue } from '../shared/jobs/enqueue.ts';
import { layout } from '../shared/jobs/layout.ts';
import { queueDepth } from '../shared/jobs/run-admin.ts';
import { enqueueWordCount } from '../examples/word-count.ts';
import { enqueueEvents, type ClickEvent } from '../examples/event-scoring.ts';

export interface DemoProducer {
  stop(): Promise<void>;
}

export interface DemoProducerOptions {
  client: Coordination;
  logger: Logger;
  /** Scales every feed's beat (tests use a small one). Default 1. */
  pace?: number;
  backlogMax?: number;
}

interface Feed {
  job: string;
  everyMs: number;
  /** The n-th enqueue of this feed. */
  make(client: Coordination, n: number): Promise<unknown>;
}

const TEXT = `It was the best of times, it was the worst of times, it was the age of wisdom,
it was the age of foolishness, it was the epoch of belief, it was the epoch of incredulity,
it was the season of Light, it was the season of Darkness, it was the spring of hope,
it was the winter of despair, we had everything before us, we had nothing before us`;

const AGENTS = ['Mozilla/5.0 Firefox/130', 'Mozilla/5.0 Safari/17', 'Googlebot/2.1', 'Mozilla/5.0 Chrome/129', 'python-requests/2.32'];

/** The k-th demo click: a few users, now and then a bot, a burst or a big checkout. */
function clickEvent(k: number): ClickEvent {
  const checkout = k % 11 === 0;
  return {
    user: `user-${k % 23}`,
    path: checkout ? '/checkout' : `/product/${k % 97}`,
    userAgent: AGENTS[k % AGENTS.length] as string,
    gapMs: k % 13 === 0 ? 80 : 1500 + (k % 7) * 300,
    ...(checkout ? { cartCents: (k % 9) * 12_000 } : {}),
  };
}

const PHOTOS = ['harbour', 'alps', 'market', 'lighthouse', 'desert', 'aurora', 'forest', 'skyline'];

export const FEEDS: Feed[] = [
  {
    job: 'image-pipeline',
    everyMs: 1200,
    make: (client, n) =>
      enqueue(client, 'image-pipeline', {
        url: `https://images.example.com/${PHOTOS[n % PHOTOS.length]}-${n}.jpg`,
        // One in seven has a flaky origin (retried); one in 40 never answers (dead after its retries).
        ...(n % 40 === 39 ? { failFirst: 99 } : n % 7 === 3 ? { failFirst: 1 } : {}),
      }),
  },
  { job: 'word-count-map', everyMs: 9000, make: (client) => enqueueWordCount(client, TEXT, { parts: 4, top: 5 }) },
  // 200 events in one enqueue: bundles of 32 (examples/event-scoring.ts).
  { job: 'event-scoring', everyMs: 2000, make: (client, n) => enqueueEvents(client, Array.from({ length: 200 }, (_, i) => clickEvent(n * 200 + i))) },
  {
    job: 'nightly-report',
    everyMs: 25_000,
    make: (client, n) => enqueue(client, 'nightly-report', { day: new Date(Date.now() - (n + 2) * 86_400_000).toISOString().slice(0, 10) }),
  },
];

export function startDemoProducer(opts: DemoProducerOptions): DemoProducer {
  const pace = opts.pace ?? 1;
  const backlogMax = opts.backlogMax ?? 20;
  const timers = new Set<NodeJS.Timeout>();
  const pending = new Set<Promise<void>>();
  let stopped = false;

  function loop(feed: Feed, n: number): void {
    if (stopped) return;
    const timer = setTimeout(() => {
      timers.delete(timer);
      const p = tick(feed, n)
        .then((made) => loop(feed, made ? n + 1 : n))
        .catch((err: unknown) => {
          opts.logger.warn({ err, job: feed.job }, 'demo enqueue failed');
          loop(feed, n);
        })
        .finally(() => pending.delete(p));
      pending.add(p);
    }, feed.everyMs * pace);
    timers.add(timer);
  }

  async function tick(feed: Feed, n: number): Promise<boolean> {
    // The spec is published by the workers that run the job; until one has, wait.
    if ((await opts.client.exists(layout.job(feed.job))) === null) return false;
    if ((await queueDepth(opts.client, feed.job)).total >= backlogMax) return false;
    await feed.make(opts.client, n);
    return true;
  }

  for (const feed of FEEDS) loop(feed, 0);
  return {
    async stop() {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      await Promise.all([...pending]);
    },
  };
}
