/**
 * The result handle: `waitForRun(client, job, runId)` resolves with the
 * run's record once it is finished (succeeded, failed, dead or cancelled).
 * Every wait is a one-shot data watch on the znode holding the run (its
 * own record, or its bundle's: run-lookup.ts), re-armed by each read;
 * nothing polls. A finished run's record stays where it was (its history
 * or dead-letter entry only names it), so an already-finished run resolves
 * on the first read, and a pruned one is DROVER_RUN_NOT_FOUND.
 *
 * Connection: on the same session the client library re-arms the watch
 * itself; after SUSPENDED/LOST the wait reads (and arms) again on
 * RECONNECTED, so a change made meanwhile is not missed. A watch set before
 * the wait ended stays with the server until the node next changes (the
 * interface has no removeWatches); it then finds the wait done and does nothing.
 */
import type { Coordination, Watcher } from '../client/coordination.ts';
import { isConnected } from '../client/connection-state.ts';
import { isZkError } from '../client/zk-error.ts';
import { DroverError, isDroverError } from '../errors.ts';
import { isFinishedState } from './bundle-settle.ts';
import type { RunRecord } from './job-types.ts';
import { recordPathOf, runIn } from './run-lookup.ts';

export interface WaitForRunOptions {
  /** Reject with DROVER_WAIT_TIMEOUT after this many ms (the run goes on). Default: no limit. */
  timeoutMs?: number;
  /** Reject with the signal's reason when it aborts (the run goes on). */
  signal?: AbortSignal;
  /** Hears each unfinished version of the record read on the way (state, attempt, progress). */
  onUpdate?: (record: RunRecord) => void;
}

/** A read failed only because the connection is down: read again when it is back. */
const RETRY_CONNECTED_MS = 250;

function transient(err: unknown): boolean {
  return (
    isZkError(err, 'CONNECTION_LOSS') ||
    isZkError(err, 'OPERATION_TIMEOUT') ||
    isZkError(err, 'SESSION_EXPIRED') ||
    isDroverError(err, 'DROVER_NOT_CONNECTED') ||
    isDroverError(err, 'DROVER_SESSION_LOST')
  );
}

export function waitForRun(client: Coordination, job: string | { readonly name: string }, runId: string, opts: WaitForRunOptions = {}): Promise<RunRecord> {
  const name = typeof job === 'string' ? job : job.name;
  const { timeoutMs, signal, onUpdate } = opts;
  if (timeoutMs !== undefined && !(Number.isFinite(timeoutMs) && timeoutMs >= 0)) {
    return Promise.reject(new DroverError('DROVER_INVALID_ARGUMENT', `timeoutMs must be a number >= 0, not ${String(timeoutMs)}`));
  }
  if (signal?.aborted) return Promise.reject(signal.reason);
  const path = recordPathOf(name, runId);
  return new Promise<RunRecord>((resolve, reject) => {
    let done = false;
    let reading = false;
    let again = false;
    let timer: NodeJS.Timeout | undefined;
    let retry: NodeJS.Timeout | undefined;
    let offState = (): void => {};
    const end = (outcome: { record: RunRecord } | { error: unknown }): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearTimeout(retry);
      signal?.removeEventListener('abort', onAbort);
      offState();
      if ('record' in outcome) resolve(outcome.record);
      else reject(outcome.error);
    };
    const onAbort = (): void => end({ error: signal?.reason });
    // One function for every read: the client counts it as one watch however often it is armed.
    const watcher: Watcher = () => void read();
    // Reads one at a time, so onUpdate hears versions in order; an event during a read reads again.
    const read = async (): Promise<void> => {
      if (done) return;
      if (reading) {
        again = true;
        return;
      }
      reading = true;
      try {
        do {
          again = false;
          let data: Buffer;
          try {
            data = (await client.get(path, watcher)).data;
          } catch (err) {
            if (!isZkError(err, 'NO_NODE')) throw err;
            end({ error: new DroverError('DROVER_RUN_NOT_FOUND', `no run ${runId} of job '${name}' (finished runs are pruned from history)`, { details: { job: name, runId } }) });
            return;
          }
          if (done) return;
          const record = runIn(data, path, runId);
          if (isFinishedState(record.state)) {
            end({ record });
            return;
          }
          onUpdate?.(record);
        } while (again && !done);
      } catch (err) {
        if (!transient(err)) end({ error: err });
        // Down: RECONNECTED reads again. Back already (the state changed before the error came): a pause, then read.
        else if (isConnected(client.state)) retry = setTimeout(() => void read(), RETRY_CONNECTED_MS);
      } finally {
        reading = false;
      }
    };
    offState = client.onState((change) => {
      if (change.state === 'CLOSED') end({ error: new DroverError('DROVER_CLOSED', `the client closed while waiting for run ${runId} of '${name}'`) });
      else if (change.state === 'CONNECTED' || change.state === 'RECONNECTED') void read();
    });
    signal?.addEventListener('abort', onAbort, { once: true });
    if (timeoutMs !== undefined) {
      timer = setTimeout(
        () => end({ error: new DroverError('DROVER_WAIT_TIMEOUT', `run ${runId} of '${name}' did not finish within ${timeoutMs} ms (it goes on)`, { details: { job: name, runId, timeoutMs } }) }),
        timeoutMs,
      );
    }
    void read();
  });
}
