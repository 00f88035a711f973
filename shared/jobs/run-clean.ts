/**
 * Cleaning a job's finished runs older than an age (BullMQ's Queue.clean):
 * each run's record goes with the entry that names it (its history entry,
 * or its dead-letter node), so nothing is left pointing at nothing.
 *
 *   succeeded, failed, cancelled, finished (any of the three)
 *       that state's history directory (finished: the three merged), oldest
 *       first. Age comes from the entry's name (h-<endMs13>-<id>), so the
 *       walk stops at the first entry young enough; only the runs older
 *       than the cut are read (their state).
 *   dead
 *       dead-letter nodes in name order (generated run ids carry their
 *       enqueue time, so roughly oldest first); each record is read for its
 *       finishedAt, since the name carries no end time.
 *
 * Runs are read and deleted CHUNK_RUNS at a time. A bundle
 * (docs/adr/0006-run-bundles.md) is one record for all its runs, with a
 * history entry per final state among them (history-entries.ts): it is
 * cleaned only when every run in it qualifies (each in the state asked,
 * the bundle finished before the cut), with all its entries and the
 * dead-letter nodes of its dead runs. A bundle mixing states (say one dead
 * run among succeeded ones) stays until history pruning (history.keep,
 * maxAgeMs) takes it.
 *
 * Contract of a deletion batch (one multi, up to MULTI_OPS_MAX ops), per run:
 *   delete /runs/<job>/<id> at the version read     guard: BAD_VERSION or NO_NODE means the run
 *                                                    moved (an operator retried it) or went: that
 *                                                    run drops out of the batch, the rest is sent again
 *   delete its history entry / dead-letter node(s)  NO_NODE: gone already (pruned), fine: that op
 *                                                    drops out, the rest is sent again
 * An entry whose record is gone is deleted alone (not counted). A record is
 * deleted only with the entry it was read for (its finishedAt is the name's
 * end time): a run retried and finished again since the listing is newer.
 */
import { childrenOrEmpty } from '../client/absent-ok.ts';
import type { Coordination, Op } from '../client/coordination.ts';
import { ZkError } from '../client/zk-error.ts';
import { DroverError } from '../errors.ts';
import type { RunState } from './job-types.ts';
import { historyEntryPaths, mergeNames, parseHistoryName } from './history-entries.ts';
import { HISTORY_STATES, layout } from './layout.ts';
import { MULTI_OPS_MAX } from './limits.ts';
import { splitBundledRunId } from './run-id.ts';
import { readStored, runsOf } from './run-lookup.ts';

export const CLEAN_STATES = ['succeeded', 'failed', 'cancelled', 'finished', 'dead'] as const;
export type CleanState = (typeof CLEAN_STATES)[number];

export interface CleanOptions {
  /** Runs that finished more than this many ms before `nowMs` go. */
  olderThanMs: number;
  state: CleanState;
  /** The clock (default Date.now()). */
  nowMs?: number;
}

const CHUNK_RUNS = 100;

const STATES: Record<CleanState, ReadonlySet<RunState>> = {
  succeeded: new Set(['succeeded']),
  failed: new Set(['failed']),
  cancelled: new Set(['cancelled']),
  finished: new Set(['succeeded', 'failed', 'cancelled']),
  dead: new Set(['dead']),
};

/** What one run (or bundle) takes: ops[0] is the record's conditional delete, when there is a record. */
interface Removal {
  ops: Op[];
  guarded: boolean;
  /** Runs it removes (a bundle's all; 0 for an entry whose record is gone). */
  runs: number;
}

export async function cleanRuns(client: Coordination, job: string, opts: CleanOptions): Promise<{ removed: number }> {
  if (!(CLEAN_STATES as readonly string[]).includes(opts.state)) throw new DroverError('DROVER_INVALID_ARGUMENT', `state must be one of ${CLEAN_STATES.join(', ')}; got '${String(opts.state)}'`);
  if (!Number.isSafeInteger(opts.olderThanMs) || opts.olderThanMs < 0) throw new DroverError('DROVER_INVALID_ARGUMENT', `olderThanMs must be an integer >= 0, got ${String(opts.olderThanMs)}`);
  const cutoff = (opts.nowMs ?? Date.now()) - opts.olderThanMs;
  const states = STATES[opts.state];
  let removed = 0;
  if (opts.state === 'dead') {
    const names = (await childrenOrEmpty(client, layout.dead(job))).sort();
    for (let i = 0; i < names.length; i += CHUNK_RUNS) removed += await commitRemovals(client, await deadRemovals(client, job, names.slice(i, i + CHUNK_RUNS), cutoff));
    return { removed };
  }
  // Oldest first across the directories asked; a bundle's entries there share a name: read once.
  const dirs = opts.state === 'finished' ? HISTORY_STATES : [opts.state];
  const listed = await Promise.all(dirs.map(async (s) => (await childrenOrEmpty(client, layout.historyDir(job, s))).sort()));
  const sets = listed.map((names) => new Set(names));
  const old: { name: string; end: number; id: string }[] = [];
  for (const name of mergeNames(listed)) {
    const e = parseHistoryName(name);
    if (e === null) continue;
    if (e.endMs >= cutoff) break; // names sort by end time: the rest are younger
    old.push({ name, end: e.endMs, id: e.id });
  }
  for (let i = 0; i < old.length; i += CHUNK_RUNS) {
    const chunk = old.slice(i, i + CHUNK_RUNS);
    const read = await Promise.all(chunk.map((e) => readStored(client, job, e.id)));
    const removals = chunk.flatMap((e, k): Removal[] => {
      const found = read[k] ?? null;
      if (found === null) {
        const listedAt = dirs.filter((_, d) => sets[d]?.has(e.name)).map((s) => layout.historyEntry(job, s, e.end, e.id));
        return [{ ops: listedAt.map((path): Op => ({ op: 'delete', path })), guarded: false, runs: 0 }];
      }
      const runs = runsOf(found.stored);
      const finishedAt = found.stored.kind === 'bundle' ? (found.stored.bundle.state === 'done' ? found.stored.bundle.finishedAt : undefined) : found.stored.record.finishedAt;
      if (finishedAt !== e.end || !runs.every((r) => states.has(r.state))) return [];
      const entries = historyEntryPaths(job, e.id, e.end, runs).map((path): Op => ({ op: 'delete', path }));
      return [{ ops: [{ op: 'delete', path: layout.run(job, e.id), version: found.version }, ...entries], guarded: true, runs: runs.length }];
    });
    removed += await commitRemovals(client, removals);
  }
  return { removed };
}

/** Dead-letter nodes name runs; a bundled one's record is its bundle's, cleaned whole or not at all. */
async function deadRemovals(client: Coordination, job: string, names: string[], cutoff: number): Promise<Removal[]> {
  const ids = [...new Set(names.map((n) => splitBundledRunId(n)?.bundleId ?? n))];
  const read = await Promise.all(ids.map((id) => readStored(client, job, id)));
  const removals: Removal[] = [];
  ids.forEach((id, i) => {
    const found = read[i] ?? null;
    if (found === null) {
      // Entries left by a record that is gone: nothing names them any more.
      for (const n of names) if ((splitBundledRunId(n)?.bundleId ?? n) === id) removals.push({ ops: [{ op: 'delete', path: layout.deadRun(job, n) }], guarded: false, runs: 0 });
      return;
    }
    const ops: Op[] = [{ op: 'delete', path: layout.run(job, id), version: found.version }];
    if (found.stored.kind === 'bundle') {
      const b = found.stored.bundle;
      if (b.state !== 'done' || b.finishedAt === undefined || b.finishedAt >= cutoff || !b.runs.every((r) => r.state === 'dead')) return;
      // Every run dead: the bundle has no history entry (history-entries.ts), only its dead-letter nodes.
      ops.push(...b.runs.map((r): Op => ({ op: 'delete', path: layout.deadRun(job, r.id) })));
      removals.push({ ops, guarded: true, runs: b.runs.length });
      return;
    }
    const r = found.stored.record;
    if (r.state !== 'dead' || r.finishedAt === undefined || r.finishedAt >= cutoff) return;
    ops.push({ op: 'delete', path: layout.deadRun(job, id) });
    removals.push({ ops, guarded: true, runs: 1 });
  });
  return removals;
}

/** Sends the removals in multis of up to MULTI_OPS_MAX ops (see the contract above); resolves to the runs removed. */
async function commitRemovals(client: Coordination, removals: Removal[]): Promise<number> {
  let removed = 0;
  let pending = removals.filter((r) => r.ops.length > 0);
  while (pending.length > 0) {
    let n = 0;
    for (let size = 0; n < pending.length && (n === 0 || size + (pending[n] as Removal).ops.length <= MULTI_OPS_MAX); n++) size += (pending[n] as Removal).ops.length;
    const batch = pending.slice(0, n);
    try {
      await client.multi(batch.flatMap((r) => r.ops));
      removed += batch.reduce((s, r) => s + r.runs, 0);
      pending = pending.slice(n);
    } catch (err) {
      if (!(err instanceof ZkError) || err.opIndex === undefined) throw err;
      let at = err.opIndex;
      const who = batch.findIndex((r) => {
        if (at < r.ops.length) return true;
        at -= r.ops.length;
        return false;
      });
      const r = batch[who];
      if (r === undefined) throw err;
      if (r.guarded && at === 0 && (err.is('BAD_VERSION') || err.is('NO_NODE'))) {
        pending = pending.filter((_, i) => i !== who); // the run moved or went meanwhile: not ours to delete
      } else if (err.is('NO_NODE')) {
        const ops = r.ops.filter((_, i) => i !== at);
        pending = pending.map((p, i) => (i === who ? { ...p, ops } : p)).filter((p) => p.ops.length > 0);
      } else {
        throw err;
      }
    }
  }
  return removed;
}
