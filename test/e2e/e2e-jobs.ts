/**
 * The test's own jobs (beside the examples): one that reports progress
 * slowly enough for a browser to see its bar between empty and full.
 */
import { defineJob } from '../../shared/jobs/define-job.ts';

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
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
