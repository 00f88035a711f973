/**
 * Where a bundle goes once none of its runs is active (a worker finished
 * its attempt, recovery took it from a lost worker, an operator cancelled
 * its last waiting run): the one rule shared by all of them
 * (docs/adr/0006-run-bundles.md).
 *
 *   some run delayed (a retry with backoff)  -> delayed until the LATEST due
 *                                               time among them (the bundle
 *                                               moves as one; no run retries early)
 *   else some run queued (handed back)       -> its lane's tail
 *   else (every run finished)                -> done: its history entries, one
 *                                               per final state among its runs
 *                                               (history-entries.ts; none when
 *                                               all are dead)
 */
import { changed } from './record-copy.ts';
import type { Coordination, Op } from '../client/coordination.ts';
import type { BundleRecord } from './job-types.ts';
import { historyCreateOps } from './history-entries.ts';
import { layout } from './layout.ts';
import { appendOps, readLaneTails } from './queue-append.ts';

export type Placement = { kind: 'history'; endMs: number } | { kind: 'delayed'; dueAt: number } | { kind: 'lane' };

export interface Settled {
  bundle: BundleRecord;
  placement: Placement;
}

/** A finished run's state: it will not run again unless an operator retries it. */
export function isFinishedState(state: string): boolean {
  return state === 'succeeded' || state === 'failed' || state === 'dead' || state === 'cancelled';
}

/** The bundle's next record and placement; throws if a run is still active (the caller's bug). */
export function settleBundle(bundle: BundleRecord, nowMs: number): Settled {
  if (bundle.runs.some((r) => r.state === 'active')) throw new Error(`settleBundle: bundle ${bundle.id} still has an active run`);
  const next: BundleRecord = changed(bundle, {});
  delete next.worker;
  delete next.startedAt;
  delete next.dueAt;
  delete next.finishedAt;
  const delayed = bundle.runs.filter((r) => r.state === 'delayed');
  if (delayed.length > 0) {
    const dueAt = Math.max(...delayed.map((r) => r.dueAt ?? nowMs));
    return { bundle: changed(next, { state: 'delayed', dueAt }), placement: { kind: 'delayed', dueAt } };
  }
  if (bundle.runs.some((r) => r.state === 'queued' || r.state === 'waiting-barrier')) return { bundle: changed(next, { state: 'queued' }), placement: { kind: 'lane' } };
  return { bundle: changed(next, { state: 'done', finishedAt: nowMs }), placement: { kind: 'history', endMs: nowMs } };
}

/** The ops that put a settled bundle where it belongs (lane appends read the lane's tail). */
export async function placementOps(client: Coordination, job: string, settled: Settled, base: number, retryable: Set<number>): Promise<Op[]> {
  const { bundle, placement } = settled;
  switch (placement.kind) {
    case 'history':
      return historyCreateOps(job, bundle.id, placement.endMs, bundle.runs);
    case 'delayed':
      return [{ op: 'create', path: layout.delayedRun(job, placement.dueAt, bundle.id) }];
    case 'lane': {
      const tails = await readLaneTails(client, job, [bundle.priority]);
      return appendOps(job, tails, [{ runId: bundle.id, priority: bundle.priority }], base, retryable);
    }
  }
}

/** dead/<job>/<runId> for the runs that are dead in `after` but were not in `before`. */
export function newlyDeadOps(job: string, before: BundleRecord, after: BundleRecord): Op[] {
  return after.runs
    .filter((r, i) => r.state === 'dead' && before.runs[i]?.state !== 'dead')
    .map((r) => ({ op: 'create', path: layout.deadRun(job, r.id) }) as Op);
}
