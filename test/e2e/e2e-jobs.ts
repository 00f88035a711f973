/**
 * The jobs the dashboard's browser test runs: one that reports progress as
 * it goes, one partitioned consumer, one on a schedule, and one that fails.
 */
import { defineJob } from '../../shared/jobs/define-job.ts';

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    });
  });
}

export const resizeImages = defineJob<{ images?: number }, { resized: number }>({
  name: 'resize-images',
  concurrency: 2,
  async run(ctx, input) {
    const images = input?.images ?? 12;
    for (let i = 1; i <= images; i++) {
      // Slow enough that a browser sees the bar between 0 and 100.
      await pause(250, ctx.signal);
      ctx.progress((i / images) * 100, `image ${i} of ${images}`);
    }
    return { resized: images };
  },
});

export const ordersConsumer = defineJob({
  name: 'orders-consumer',
  partitions: 6,
  async run(ctx) {
    // A consumer: holds its partition until the runtime takes it away.
    await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
  },
});

export const nightlyReport = defineJob({
  name: 'nightly-report',
  schedule: '0 2 * * *',
  misfire: 'fire-once',
  run: () => ({ rows: 0 }),
});

export const flaky = defineJob({
  name: 'send-invoice',
  retries: 1,
  backoff: { type: 'fixed', delayMs: 200 },
  run() {
    throw new Error('SMTP 451: mailbox temporarily unavailable');
  },
});
