/**
 * Waiting for a one-shot watch, the step every blocking recipe repeats: the
 * watcher is set by a read *before* the wait begins (and may fire before
 * it), so the firing is latched. The wait also ends on RECONNECTED (the
 * caller reads again: after a new session its watches are gone), shortly
 * after a failed read if still connected, and rejects with DROVER_CLOSED
 * when the client closes, DROVER_WAIT_TIMEOUT / DROVER_CANCELLED per opts.
 */
import type { Coordination, Watcher } from '../client/coordination.ts';
import { DroverError } from '../errors.ts';
import { abortableWait, type WaitOptions } from './abortable-wait.ts';
import { isConnected } from './connection-checks.ts';

/** How soon to read again after a failure while connected (e.g. an operation timeout). */
const RETRY_AFTER_ERROR_MS = 200;

export class WatchWait {
  private fired = false;
  private wake: (() => void) | undefined;
  /** Pass this to the read that sets the watch. */
  readonly watcher: Watcher = () => {
    this.fired = true;
    this.wake?.();
  };

  /** `afterError`: the last read failed, so do not rely on the watch having been set. */
  wait(client: Coordination, what: string, opts: WaitOptions & { afterError?: boolean } = {}): Promise<void> {
    const { afterError = false, ...waitOpts } = opts;
    return abortableWait(what, waitOpts, ({ resolve, reject }) => {
      this.wake = resolve;
      if (this.fired) resolve();
      const retry = afterError && isConnected(client) ? setTimeout(resolve, RETRY_AFTER_ERROR_MS) : undefined;
      const off = client.onState((c) => {
        if (c.state === 'RECONNECTED') resolve();
        else if (c.state === 'CLOSED') reject(new DroverError('DROVER_CLOSED', 'the coordination client is closed'));
      });
      if (client.state === 'CLOSED') reject(new DroverError('DROVER_CLOSED', 'the coordination client is closed'));
      return () => {
        this.wake = undefined;
        if (retry) clearTimeout(retry);
        off();
      };
    });
  }
}
