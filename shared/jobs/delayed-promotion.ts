/**
 * Moving one delayed entry onto its lane: the step promoteDue takes for
 * each due entry (the scheduler and every worker of the job drive it) and
 * promoteRun takes for one run an operator wants now. One function, so an
 * early promotion is exactly a due one that came sooner.
 *
 * Ops it adds (the caller appends the lane with queue-append.ts and commits
 * them in one multi):
 *   delete  /delayed/<job>/d-<due>-<id>                   (NO_NODE: another promoter won)
 *   set     /runs/<job>/<id> queued, dueAt dropped, at the version read
 *                                                        (BAD_VERSION: it moved; read again)
 * A run (or bundle) gone or no longer delayed only loses its entry: a
 * cancel got there first. A bundle is promoted whole, its delayed runs
 * queued (docs/adr/0006-run-bundles.md).
 */
import type { Op } from '../client/coordination.ts';
import type { BundleRecord, RunRecord } from './job-types.ts';
import { layout } from './layout.ts';
import type { AppendEntry } from './queue-append.ts';
import { encodeBundle, encodeRecord, type StoredRecord } from './run-codec.ts';

export interface ReadRecord {
  stored: StoredRecord;
  version: number;
}

/** Pushes the promotion of the entry at `entryPath` (holding record `id`) onto `ops`; returns what to append to a lane, or null. */
export function promotionOps(job: string, entryPath: string, id: string, found: ReadRecord | null, ops: Op[], retryable: Set<number>): AppendEntry | null {
  retryable.add(ops.length);
  ops.push({ op: 'delete', path: entryPath });
  if (!found) return null; // gone meanwhile: just drop the entry
  const path = layout.run(job, id);
  if (found.stored.kind === 'bundle') {
    const b = found.stored.bundle;
    if (b.state !== 'delayed') return null; // cancelled to its last run meanwhile
    const runs = b.runs.map((r) => {
      if (r.state !== 'delayed') return r;
      const q: RunRecord = { ...r, state: 'queued' };
      delete q.dueAt;
      return q;
    });
    const next: BundleRecord = { ...b, state: 'queued', runs };
    delete next.dueAt;
    retryable.add(ops.length);
    ops.push({ op: 'set', path, data: encodeBundle(next), version: found.version });
    return { runId: b.id, priority: b.priority };
  }
  if (found.stored.record.state !== 'delayed') return null; // cancelled meanwhile: just drop the entry
  const next: RunRecord = { ...found.stored.record, state: 'queued' };
  delete next.dueAt;
  retryable.add(ops.length);
  ops.push({ op: 'set', path, data: encodeRecord(next), version: found.version });
  return { runId: id, priority: next.priority };
}
