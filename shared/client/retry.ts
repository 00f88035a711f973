/**
 * Retry policies, as Curator's: asked after each retryable failure (a
 * connection loss or an operation timeout), they answer how long to wait
 * before the next try, or null to give up. Pure: no clock, no timers.
 */
export interface RetryPolicy {
  /** `retries` failures so far (1 after the first), `elapsedMs` since the first try. */
  delayBeforeRetry(retries: number, elapsedMs: number, random?: () => number): number | null;
}

/** Exponential backoff with jitter, capped at maxDelayMs, at most maxRetries times. */
export function exponentialBackoff(opts: { baseMs?: number; maxDelayMs?: number; maxRetries?: number } = {}): RetryPolicy {
  const baseMs = opts.baseMs ?? 100;
  const maxDelayMs = opts.maxDelayMs ?? 5_000;
  const maxRetries = opts.maxRetries ?? 10;
  return {
    delayBeforeRetry(retries, _elapsedMs, random = Math.random) {
      if (retries > maxRetries) return null;
      const ceiling = Math.min(maxDelayMs, baseMs * 2 ** Math.min(retries - 1, 30));
      // "Equal jitter": at least half the step, so retries never bunch at zero.
      return Math.round(ceiling / 2 + (random() * ceiling) / 2);
    },
  };
}

/** A fixed pause, n times. */
export function retryNTimes(n: number, delayMs: number): RetryPolicy {
  return { delayBeforeRetry: (retries) => (retries > n ? null : delayMs) };
}

/** A fixed pause, until `maxElapsedMs` has passed since the first try. */
export function retryUntilElapsed(maxElapsedMs: number, delayMs: number): RetryPolicy {
  return { delayBeforeRetry: (_retries, elapsedMs) => (elapsedMs + delayMs > maxElapsedMs ? null : delayMs) };
}

export const noRetry: RetryPolicy = { delayBeforeRetry: () => null };
