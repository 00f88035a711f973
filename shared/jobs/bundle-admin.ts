/**
 * Operator cancel and retry of a bundled run (`<bundleId>.<k>`,
 * docs/adr/0006-run-bundles.md): the plans run-admin.ts commits when a run's
 * record is its bundle's. Each plan is one multi whose first op sets the
 * bundle record at the version read, so it cannot interleave with a claim
 * (which moves the bundle to `active` at that version) or a worker's write.
 *
 * A held (`active`) bundle is never written here: its worker fences on the
 * record's version, so any write of ours would abort every run in it.
 */
import type { Coordination, Op } from '../client/coordination.ts';
import { DroverError } from '../errors.ts';
import { isFinishedState, placementOps, settleBundle } from './bundle-settle.ts';
import { historyEntryPaths } from './history-entries.ts';
import type { BundleRecord, RunRecord } from './job-types.ts';
import { layout } from './layout.ts';
import type { CommitPlan } from './queue-append.ts';
import { encodeBundle } from './run-codec.ts';
import type { RunView } from './run-lookup.ts';

export type BundledView = RunView & { bundle: NonNullable<RunView['bundle']> };

function withRun(bundle: BundleRecord, index: number, run: RunRecord): BundleRecord {
  return { ...bundle, runs: bundle.runs.map((r, i) => (i === index ? run : r)) };
}

/** The cancel request route: the run is on a worker, or waits in a bundle a worker holds. */
export type BundledCancel = 'cancelled' | 'request';

/**
 * Cancel of a bundled run:
 *   run active, or unfinished in an active bundle  -> 'request' (no ops; the caller creates
 *        /cancel/<job>/<runId>: the worker aborts it, or the next claim marks it cancelled)
 *   run queued/delayed, bundle queued or delayed   -> the run cancelled in the record, and the
 *        bundle placed by settleBundle: done (+ its history entries, its delayed entry dropped)
 *        when nothing is left to run; a delayed bundle whose due time or placement changed
 *        moves; a queued bundle keeps its lane item (the claimer drops items of non-queued bundles)
 *   run finished                                   -> DROVER_RUN_STATE
 */
export async function bundledCancelPlan(client: Coordination, job: string, runId: string, view: BundledView, nowMs: number): Promise<CommitPlan<BundledCancel>> {
  const { record, version } = view;
  const { record: bundle, index } = view.bundle;
  if (record.state === 'active' || (bundle.state === 'active' && !isFinishedState(record.state))) return { ops: [], retryable: new Set(), value: 'request' };
  if ((record.state !== 'queued' && record.state !== 'delayed') || (bundle.state !== 'queued' && bundle.state !== 'delayed')) {
    throw new DroverError('DROVER_RUN_STATE', `run ${runId} is ${record.state} (bundle ${bundle.id} ${bundle.state}); only queued, delayed or active runs can be cancelled`, {
      details: { job, runId, state: record.state, bundle: bundle.id, bundleState: bundle.state },
    });
  }
  const run: RunRecord = { ...record, state: 'cancelled', finishedAt: nowMs, error: { code: 'DROVER_CANCELLED', message: 'cancelled before it ran' } };
  let next = withRun(bundle, index, run);
  const settled = settleBundle(next, nowMs);
  const retryable = new Set<number>([0]);
  const moves: Op[] = [];
  const oldEntry = bundle.state === 'delayed' && bundle.dueAt !== undefined ? layout.delayedRun(job, bundle.dueAt, bundle.id) : null;
  const p = settled.placement;
  const stays = p.kind === 'history' ? false : bundle.state === 'queued' || (p.kind === 'delayed' && p.dueAt === bundle.dueAt);
  if (!stays) {
    next = settled.bundle;
    if (oldEntry !== null) moves.push({ op: 'delete', path: oldEntry });
    moves.push(...(await placementOps(client, job, settled, 1 + moves.length, retryable)));
  }
  return { ops: [{ op: 'set', path: layout.run(job, bundle.id), data: encodeBundle(next), version }, ...moves], retryable, value: 'cancelled' };
}

/**
 * Retry of a bundled run (dead, failed or cancelled; its bundle not held):
 * the run queued with a fresh attempt budget, its dead-letter node dropped;
 * a done bundle goes back to its lane (settleBundle: a queued run -> lane)
 * and loses its history entry. A queued or delayed bundle only gets the run
 * set queued: it is claimed with the bundle.
 */
export async function bundledRetryPlan(client: Coordination, job: string, runId: string, view: BundledView, nowMs: number): Promise<CommitPlan<null>> {
  const { record, version } = view;
  const { record: bundle, index } = view.bundle;
  if (record.state !== 'dead' && record.state !== 'failed' && record.state !== 'cancelled') {
    throw new DroverError('DROVER_RUN_STATE', `run ${runId} is ${record.state}; only dead, failed or cancelled runs can be retried`, { details: { job, runId, state: record.state } });
  }
  if (bundle.state === 'active') {
    throw new DroverError('DROVER_RUN_STATE', `run ${runId} is ${record.state}, but its bundle ${bundle.id} is held by worker ${bundle.worker ?? '?'} now; retry it once the bundle's other runs have finished`, {
      details: { job, runId, state: record.state, bundle: bundle.id, bundleState: bundle.state },
    });
  }
  const run: RunRecord = { ...record, state: 'queued', freeAttempts: record.attempt };
  delete run.finishedAt;
  delete run.error;
  delete run.result;
  let next = withRun(bundle, index, run);
  const retryable = new Set<number>([0]);
  const rest: Op[] = [];
  // Existence is read first: a node pruned meanwhile fails the delete with NO_NODE, retryable -> re-read.
  if (record.state === 'dead' && (await client.exists(layout.deadRun(job, runId)))) {
    retryable.add(1 + rest.length);
    rest.push({ op: 'delete', path: layout.deadRun(job, runId) });
  }
  next = await reopenDoneBundle(client, job, bundle, next, nowMs, rest, retryable);
  return { ops: [{ op: 'set', path: layout.run(job, bundle.id), data: encodeBundle(next), version }, ...rest], retryable, value: null };
}

/**
 * A done bundle with runs queued again (`next`) leaves history: settled to
 * where it goes now (its lane), its history entries (one per final state
 * among its runs) dropped (existence read first: one pruned meanwhile fails
 * the delete with NO_NODE, retryable -> re-read). Appends the ops to `rest`,
 * which follow the bundle's set at op 0; returns the bundle to write. A
 * bundle not done is returned as is.
 */
export async function reopenDoneBundle(client: Coordination, job: string, bundle: BundleRecord, next: BundleRecord, nowMs: number, rest: Op[], retryable: Set<number>): Promise<BundleRecord> {
  if (bundle.state !== 'done') return next;
  const settled = settleBundle(next, nowMs);
  if (bundle.finishedAt !== undefined) {
    const entries = historyEntryPaths(job, bundle.id, bundle.finishedAt, bundle.runs);
    const present = await Promise.all(entries.map((entry) => client.exists(entry)));
    entries.forEach((entry, i) => {
      if (!present[i]) return;
      retryable.add(1 + rest.length);
      rest.push({ op: 'delete', path: entry });
    });
  }
  rest.push(...(await placementOps(client, job, settled, 1 + rest.length, retryable)));
  return settled.bundle;
}
