/**
 * "Retry all" of a job's failed or dead runs (BullMQ's Queue.retryJobs):
 * every run of the job in that state is queued again with a fresh attempt
 * budget, as retryRun queues one. The state is walked a page at a time
 * (listRunPage with a cursor), so nothing is loaded whole, and each page is
 * written in batches:
 *
 *   runs with records of their own: one multi per batch of at most
 *     BATCH_RUNS runs and MULTI_BYTES_TARGET bytes. Per run: set the record
 *     queued at the version read; delete its dead-letter node (dead) or its
 *     entry in history/<job>/failed (failed); then one lane append for the batch
 *     (queue-append.ts). A run that moved since the read fails its set
 *     (BAD_VERSION) or a delete (NO_NODE): the batch is read again, and
 *     runs no longer in the state are skipped.
 *   bundled runs: one multi per bundle, bundledRetryPlan for every run of
 *     the bundle in that state at once, those on later pages too (a done
 *     bundle leaves history: its entries in every state directory): retried
 *     one by one, the bundle would go back to its lane after the first and
 *     a worker could hold it before the next. A held bundle's runs are
 *     skipped (writing it would fence the worker's runs).
 *
 * A retried run that fails or dies again lands behind the cursor (dead
 * entries are named by run id, history is walked newest first), so the
 * walk ends and counts each run once.
 */
import type { Coordination, Op } from '../client/coordination.ts';
import { isZkError } from '../client/zk-error.ts';
import { DroverError } from '../errors.ts';
import { reopenDoneBundle } from './bundle-admin.ts';
import type { BundleRecord, RunRecord } from './job-types.ts';
import { layout } from './layout.ts';
import { MULTI_BYTES_TARGET } from './limits.ts';
import { appendOps, commitWithRetry, readLaneTails, type AppendEntry, type CommitPlan } from './queue-append.ts';
import { decodeStored, encodeBundle, encodeRecord } from './run-codec.ts';
import { requeuedForRetry } from './run-admin.ts';
import { splitBundledRunId } from './run-id.ts';
import { readRunView } from './run-lookup.ts';
import { listRunPage } from './run-pages.ts';

export type RetryAllState = 'failed' | 'dead';

export interface RetryAllResult {
  /** Runs queued again. */
  retried: number;
  /** Runs listed in the state that moved on before their write, or whose bundle a worker held. */
  skipped: number;
}

/** Runs listed per page (each page re-lists its directory: fewer, larger pages cost less). */
export const RETRY_ALL_PAGE_RUNS = 100;
/** Runs per multi: ~3 ops each (record, entry, lane item), far below MULTI_OPS_MAX. */
const BATCH_RUNS = 100;

export async function retryAll(client: Coordination, job: string, state: RetryAllState): Promise<RetryAllResult> {
  if (state !== 'failed' && state !== 'dead') throw new DroverError('DROVER_INVALID_ARGUMENT', `retry all takes state 'failed' or 'dead', got '${String(state)}'`);
  const result: RetryAllResult = { retried: 0, skipped: 0 };
  // Bundled runs retried with their bundle before their own page came: not counted twice when listed.
  const retriedAhead = new Set<string>();
  let cursor: string | null = null;
  do {
    const page = await listRunPage(client, job, { state, limit: RETRY_ALL_PAGE_RUNS, cursor });
    const plain: string[] = [];
    const bundles = new Map<string, string[]>();
    for (const run of page.runs) {
      if (retriedAhead.delete(run.id)) continue;
      const split = splitBundledRunId(run.id);
      if (split === null) plain.push(run.id);
      else bundles.set(split.bundleId, [...(bundles.get(split.bundleId) ?? []), run.id]);
    }
    for (let i = 0; i < plain.length; ) {
      const out = await retryBatch(client, job, state, plain.slice(i, i + BATCH_RUNS));
      i += out.taken;
      result.retried += out.retried;
      result.skipped += out.skipped;
    }
    for (const [bundleId, listed] of bundles) {
      const retried = await retryBundle(client, job, bundleId, state);
      const mine = new Set(listed);
      for (const id of retried) if (!mine.delete(id)) retriedAhead.add(id);
      result.retried += retried.length;
      result.skipped += mine.size;
    }
    cursor = page.next;
  } while (cursor !== null);
  return result;
}

/** One multi for the first runs of `ids` that fit; `taken` says how many of `ids` it dealt with. */
async function retryBatch(client: Coordination, job: string, state: RetryAllState, ids: string[]): Promise<{ taken: number; retried: number; skipped: number }> {
  const out = await commitWithRetry(client, async () => {
    const views = await Promise.all(ids.map((id) => readRunView(client, job, id)));
    // A failed run's history entry may have been pruned meanwhile (its record goes with it, but not always in the same multi).
    const entries = await Promise.all(
      views.map((v) => (state === 'failed' && v?.record.finishedAt !== undefined ? client.exists(layout.historyEntry(job, 'failed', v.record.finishedAt, v.record.id)) : null)),
    );
    const ops: Op[] = [];
    const retryable = new Set<number>();
    const ready: AppendEntry[] = [];
    let bytes = 0;
    let taken = 0;
    let skipped = 0;
    for (const [i, view] of views.entries()) {
      if (view === null || view.bundle !== undefined || view.record.state !== state) {
        skipped++;
        taken++;
        continue;
      }
      const record = view.record;
      const data = encodeRecord(requeuedForRetry(record));
      // Records are what weighs; ops stay near 3 per run, far below MULTI_OPS_MAX. One oversize run still goes alone.
      if (ready.length > 0 && bytes + data.length > MULTI_BYTES_TARGET) break;
      bytes += data.length;
      taken++;
      retryable.add(ops.length);
      ops.push({ op: 'set', path: layout.run(job, record.id), data, version: view.version });
      const entry = state === 'dead' ? layout.deadRun(job, record.id) : entries[i] ? layout.historyEntry(job, 'failed', record.finishedAt as number, record.id) : null;
      if (entry !== null) {
        retryable.add(ops.length);
        ops.push({ op: 'delete', path: entry });
      }
      ready.push({ runId: record.id, priority: record.priority });
    }
    const tails = await readLaneTails(client, job, ready.map((r) => r.priority));
    ops.push(...appendOps(job, tails, ready, ops.length, retryable));
    return { ops, retryable, value: { taken, retried: ready.length, skipped } };
  });
  // null only for a null plan, which this build never returns.
  return out?.value ?? { taken: ids.length, retried: 0, skipped: 0 };
}

/**
 * bundledRetryPlan (bundle-admin.ts) for every run of the bundle in `state`:
 * one multi whose first op sets the bundle record at the version read; the
 * runs' dead-letter nodes dropped; a done bundle back to its lane, its
 * history entry dropped. Resolves to the ids retried ([] when the bundle is
 * gone, holds none in the state, or is held by a worker).
 */
async function retryBundle(client: Coordination, job: string, bundleId: string, state: RetryAllState): Promise<string[]> {
  const out = await commitWithRetry(client, async (): Promise<CommitPlan<string[]>> => {
    let bundle: BundleRecord;
    let version: number;
    try {
      const { data, stat } = await client.get(layout.run(job, bundleId));
      const stored = decodeStored(data, layout.run(job, bundleId));
      if (stored.kind !== 'bundle') return { ops: [], retryable: new Set(), value: [] };
      bundle = stored.bundle;
      version = stat.version;
    } catch (err) {
      if (isZkError(err, 'NO_NODE')) return { ops: [], retryable: new Set(), value: [] };
      throw err;
    }
    const picked = bundle.runs.filter((r) => r.state === state);
    if (picked.length === 0 || bundle.state === 'active') return { ops: [], retryable: new Set(), value: [] };
    const retryable = new Set<number>([0]);
    const rest: Op[] = [];
    // Existence read first: a node pruned meanwhile would fail the delete with NO_NODE, retryable -> re-read.
    if (state === 'dead') {
      const present = await Promise.all(picked.map((r) => client.exists(layout.deadRun(job, r.id))));
      picked.forEach((r, i) => {
        if (!present[i]) return;
        retryable.add(1 + rest.length);
        rest.push({ op: 'delete', path: layout.deadRun(job, r.id) });
      });
    }
    const requeued: BundleRecord = { ...bundle, runs: bundle.runs.map((r): RunRecord => (r.state === state ? requeuedForRetry(r) : r)) };
    const next = await reopenDoneBundle(client, job, bundle, requeued, Date.now(), rest, retryable);
    const ops: Op[] = [{ op: 'set', path: layout.run(job, bundle.id), data: encodeBundle(next), version }, ...rest];
    return { ops, retryable, value: picked.map((r) => r.id) };
  });
  return out?.value ?? [];
}
