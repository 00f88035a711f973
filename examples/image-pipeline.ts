/**
 * image-pipeline — a multi-stage job that reports progress: fetch an
 * image, decode, make three thumbnails, encode and upload them. A flaky
 * origin (the fetch fails now and then) is what `retries` with exponential
 * backoff are for; `timeoutMs` aborts an attempt stuck on a slow origin
 * (every stage honours ctx.signal). Each stage moves the progress bar the
 * dashboard shows live.
 *
 *   drover worker --jobs examples/image-pipeline.ts
 *   drover enqueue image-pipeline '{"url":"https://example.com/cat.jpg"}'
 *
 * Decoding and resizing are simulated with a little real CPU work (a
 * checksum over a synthetic bitmap), so it stays cheap.
 */
import { createHash } from 'node:crypto';
import { defineJob } from '../shared/jobs/define-job.ts';

export interface ImageInput {
  url: string;
  /** Target widths; default 160, 640, 1280. */
  sizes?: number[];
  /** Make the first N fetch attempts fail (to show retries). */
  failFirst?: number;
}

export interface ImageOutput {
  url: string;
  variants: { width: number; bytes: number; key: string }[];
  attempts: number;
}

class OriginError extends Error {
  override readonly name = 'OriginError';
}

function stage(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    function onAbort(): void {
      clearTimeout(t);
      reject(signal.reason as Error);
    }
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** A synthetic bitmap of `width`×`width*3/4` pixels, hashed: cheap stand-in for resize + encode. */
function render(url: string, width: number): { bytes: number; digest: string } {
  const height = Math.round((width * 3) / 4);
  const row = Buffer.alloc(width * 3);
  const h = createHash('sha256').update(url);
  for (let y = 0; y < height; y += 8) {
    row.fill(y % 256);
    h.update(row);
  }
  return { bytes: Math.round(width * height * 0.15), digest: h.digest('hex').slice(0, 16) };
}

export const imagePipeline = defineJob<ImageInput, ImageOutput>({
  name: 'image-pipeline',
  concurrency: 4,
  retries: 3,
  backoff: { type: 'exponential', delayMs: 200, maxDelayMs: 5_000 },
  timeoutMs: 15_000,
  // Published with the job: the CLI, the dashboard and every producer refuse bad input before writing.
  input: {
    type: 'object',
    properties: {
      url: { type: 'string', pattern: '^https?://' },
      sizes: { type: 'array', items: { type: 'integer', minimum: 1, maximum: 4096 } },
      failFirst: { type: 'integer', minimum: 0 },
    },
    required: ['url'],
    additionalProperties: false,
  },
  async run(ctx, input) {
    const sizes = input.sizes ?? [160, 640, 1280];
    ctx.progress(0, `fetching ${input.url}`);
    await stage(100, ctx.signal);
    if (ctx.attempt <= (input.failFirst ?? 0)) throw new OriginError(`origin answered 503 for ${input.url} (attempt ${ctx.attempt})`);
    ctx.progress(20, 'decoding');
    await stage(50, ctx.signal);
    const variants: ImageOutput['variants'] = [];
    for (const [i, width] of sizes.entries()) {
      ctx.progress(30 + Math.round((i / sizes.length) * 50), `resizing to ${width}px`);
      const { bytes, digest } = render(input.url, width);
      await stage(30, ctx.signal);
      variants.push({ width, bytes, key: `thumbs/${digest}-${width}.webp` });
    }
    ctx.progress(85, `uploading ${variants.length} variants`);
    await stage(50, ctx.signal);
    ctx.log.info({ url: input.url, variants: variants.length, attempt: ctx.attempt }, 'pipeline done');
    ctx.progress(100, 'done');
    return { url: input.url, variants, attempts: ctx.attempt };
  },
});

export default imagePipeline;
