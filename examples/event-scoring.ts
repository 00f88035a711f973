/**
 * event-scoring — many tiny runs, bundled: each run scores one clickstream
 * event (a bot check on the user agent, a fraud score from a few signals).
 * A run takes microseconds, so the coordination per run is what would cost;
 * `bundle: 32` stores, claims and settles the events of one enqueue 32 to a
 * record (docs/adr/0006-run-bundles.md) while each keeps its own id, result
 * and retries.
 *
 *   drover worker --jobs examples/event-scoring.ts
 *   // from code: one enqueue call, one bundle per 32 events
 *   await enqueueEvents(client, events);
 */
import type { Coordination } from '../shared/client/coordination.ts';
import { enqueueWith } from '../shared/jobs/enqueue.ts';
import { defineJob } from '../shared/jobs/define-job.ts';

export interface ClickEvent {
  user: string;
  path: string;
  userAgent: string;
  /** Milliseconds since the previous event of this user (a burst is suspicious). */
  gapMs: number;
  /** Cart value in cents, when the event is a checkout. */
  cartCents?: number;
}

export interface EventScore {
  user: string;
  bot: boolean;
  /** 0 (clean) .. 100 (block). */
  risk: number;
}

const BOT_AGENT = /bot|crawler|spider|headless|curl|python-requests/i;

/** The score itself: pure, cheap, and what a test can check by hand. */
export function scoreEvent(e: ClickEvent): EventScore {
  const bot = BOT_AGENT.test(e.userAgent);
  let risk = bot ? 60 : 0;
  if (e.gapMs < 200) risk += 25;
  if (e.path.startsWith('/checkout') && (e.cartCents ?? 0) > 50_000) risk += 20;
  return { user: e.user, bot, risk: Math.min(100, risk) };
}

export const eventScoring = defineJob<ClickEvent, EventScore>({
  name: 'event-scoring',
  bundle: 32,
  concurrency: 32,
  retries: 1,
  history: { keep: 200 },
  // Checked per event by every enqueuer, enqueueEvents' batches included.
  input: {
    type: 'object',
    properties: {
      user: { type: 'string' },
      path: { type: 'string' },
      userAgent: { type: 'string' },
      gapMs: { type: 'number' },
      cartCents: { type: 'number' },
    },
    required: ['user', 'path', 'userAgent', 'gapMs'],
  },
  run: (_ctx, event) => scoreEvent(event),
});

/** Enqueues a batch of events in one call (so they are bundled); resolves to their run ids. */
export function enqueueEvents(client: Coordination, events: ClickEvent[]): Promise<string[]> {
  return enqueueWith(
    client,
    eventScoring.name,
    events.map((input) => ({ input })),
  );
}

export default eventScoring;
