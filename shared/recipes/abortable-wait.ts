/**
 * The one way recipes wait for an event with an optional deadline and
 * AbortSignal: the timeout rejects with DROVER_WAIT_TIMEOUT, the signal with
 * DROVER_CANCELLED (its reason as the cause), and every listener and timer
 * is removed however the wait ends.
 */
import { DroverError } from '../errors.ts';

export interface WaitOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface WaitControls {
  resolve(): void;
  reject(err: unknown): void;
}

/**
 * `arm` subscribes to whatever ends the wait and returns its unsubscribe;
 * it may call resolve/reject synchronously. `what` names the wait in errors.
 */
export function abortableWait(what: string, opts: WaitOptions, arm: (controls: WaitControls) => () => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const { signal, timeoutMs } = opts;
    if (signal?.aborted) {
      reject(new DroverError('DROVER_CANCELLED', `${what}: aborted`, { cause: signal.reason }));
      return;
    }
    let done = false;
    let disarm: (() => void) | undefined;
    let timer: NodeJS.Timeout | undefined;
    const onAbort = (): void => finish(new DroverError('DROVER_CANCELLED', `${what}: aborted`, { cause: signal?.reason }));
    const finish = (err?: unknown): void => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      disarm?.();
      if (err === undefined) resolve();
      else reject(err);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    if (timeoutMs !== undefined) {
      timer = setTimeout(() => finish(new DroverError('DROVER_WAIT_TIMEOUT', `${what}: not within ${timeoutMs} ms`)), timeoutMs);
    }
    const d = arm({ resolve: () => finish(), reject: (err) => finish(err ?? new Error(`${what} failed`)) });
    if (done) d();
    else disarm = d;
  });
}

/**
 * For a wait made of several steps: fixes the deadline now and returns what
 * is left of `opts` at each later call (the same signal, the time remaining).
 */
export function remainingOf(opts: WaitOptions): () => WaitOptions {
  const deadline = opts.timeoutMs === undefined ? undefined : Date.now() + opts.timeoutMs;
  return () => ({
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(deadline === undefined ? {} : { timeoutMs: Math.max(0, deadline - Date.now()) }),
  });
}
