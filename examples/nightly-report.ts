/**
 * nightly-report — a cron job: every night at 02:30 Berlin time, build
 * yesterday's sales report (Berlin's calendar day, whatever zone the worker
 * runs in). If no scheduler was running at 02:30 (the cluster was down for
 * maintenance), `misfire: 'fire-once'` makes the next scheduler run the
 * missed report once when it comes back, rather than skipping it or running
 * one per missed night.
 *
 *   drover worker --jobs examples/nightly-report.ts
 *   drover enqueue nightly-report '{"day":"2026-03-08"}'   # run one by hand
 *
 * The "warehouse" is simulated (orders derived from the day), so the job is
 * cheap and deterministic: the same day always gives the same report.
 */
import { defineJob } from '../shared/jobs/define-job.ts';

export interface ReportInput {
  /** The calendar day (YYYY-MM-DD) to report on; default yesterday in the report's zone. */
  day?: string;
}

export interface SalesReport {
  day: string;
  orders: number;
  revenueCents: number;
  topProduct: string;
  byRegion: Record<string, number>;
}

const ZONE = 'Europe/Berlin';
const PRODUCTS = ['kettle', 'toaster', 'blender', 'grinder', 'press'] as const;
const REGIONS = ['north', 'south', 'east', 'west'] as const;

/** Yesterday's date in `zone` as YYYY-MM-DD. */
function yesterdayIn(zone: string, nowMs: number): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(nowMs - 86_400_000));
  return parts; // en-CA formats as YYYY-MM-DD
}

/** A tiny deterministic PRNG (mulberry32) so a day's orders are the same on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function seedOf(day: string): number {
  let h = 2166136261;
  for (const ch of day) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  return h >>> 0;
}

export const nightlyReport = defineJob<ReportInput, SalesReport>({
  name: 'nightly-report',
  schedule: '30 2 * * *',
  timezone: ZONE,
  misfire: 'fire-once',
  scheduleInput: {},
  retries: 2,
  backoff: { type: 'exponential', delayMs: 30_000, maxDelayMs: 600_000 },
  timeoutMs: 5 * 60_000,
  history: { keep: 90 },
  // Checked by every enqueuer (scheduleInput too, at defineJob); null means "yesterday".
  input: {
    type: ['object', 'null'],
    properties: { day: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' } },
    additionalProperties: false,
  },
  // Local, in the worker before run(): turns `drover enqueue nightly-report` (null) into {}.
  validate: (input: unknown): ReportInput => (input ?? {}) as ReportInput,
  async run(ctx, input) {
    const day = input.day ?? yesterdayIn(ZONE, Date.now());
    ctx.log.info({ day }, 'building the sales report');
    ctx.progress(5, `loading orders of ${day}`);
    const rand = prng(seedOf(day));
    const orders = 500 + Math.floor(rand() * 1500);
    const byRegion: Record<string, number> = Object.fromEntries(REGIONS.map((r) => [r, 0]));
    const byProduct = new Map<string, number>();
    let revenueCents = 0;
    for (let i = 0; i < orders; i++) {
      if (ctx.signal.aborted) throw ctx.signal.reason as Error;
      const product = PRODUCTS[Math.floor(rand() * PRODUCTS.length)] as string;
      const region = REGIONS[Math.floor(rand() * REGIONS.length)] as string;
      const cents = 999 + Math.floor(rand() * 20_000);
      revenueCents += cents;
      byRegion[region] = (byRegion[region] ?? 0) + cents;
      byProduct.set(product, (byProduct.get(product) ?? 0) + 1);
      if (i % 250 === 0) ctx.progress(5 + Math.floor((i / orders) * 85), `aggregated ${i}/${orders} orders`);
    }
    const topProduct = [...byProduct.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'none';
    ctx.progress(95, 'rendering');
    ctx.log.info({ day, orders, revenueCents, topProduct }, 'report ready');
    ctx.progress(100, 'done');
    return { day, orders, revenueCents, topProduct, byRegion };
  },
});

export default nightlyReport;
