/**
 * History written before it was split by state: entries directly under
 * /history/<job> (layout.legacyHistoryEntry), every final state mixed.
 * Nothing reads them there; the history pruner (recovery.ts pruneHistory,
 * the scheduler's slow interval) first moves each into the state
 * directories its record's runs ended in (history-entries.ts), so an
 * upgraded cluster's older history is listed, counted and pruned like the
 * rest from the first prune on.
 *
 * Contract, per legacy entry h-<end>-<id>, in one multi (a chunk's entries
 * together, then one by one when the chunk fails):
 *   record finished at <end> (a run: its finishedAt; a bundle: done at it)
 *       check the record at the version read (a retry in between moves it);
 *       create its entries by state; delete the legacy entry
 *   record gone, or no longer finished at <end> (retried since, or dead)
 *       delete the legacy entry: it names nothing history keeps
 * A bundle whose runs are all dead gets no entry, as one finishing now
 * would not: its dead-letter nodes keep it.
 */
import { childrenOrEmpty } from '../client/absent-ok.ts';
import type { Coordination, Op } from '../client/coordination.ts';
import { isZkError, ZkError } from '../client/zk-error.ts';
import { historyCreateOps, isHistoryState, parseHistoryName } from './history-entries.ts';
import { HISTORY_STATES, layout } from './layout.ts';
import { readStored, runsOf } from './run-lookup.ts';

const CHUNK_ENTRIES = 100;
const ENTRY_TRIES = 3;

/** Moves every legacy entry of the job into the state directories; resolves to how many were moved or dropped. */
export async function sortLegacyHistory(client: Coordination, job: string): Promise<number> {
  const names = (await childrenOrEmpty(client, layout.history(job))).filter((n) => parseHistoryName(n) !== null).sort();
  if (names.length === 0) return 0;
  // A job only older workers published has no state directories yet.
  await Promise.all(HISTORY_STATES.map((s) => client.ensurePath(layout.historyDir(job, s))));
  let sorted = 0;
  for (let i = 0; i < names.length; i += CHUNK_ENTRIES) {
    const chunk = names.slice(i, i + CHUNK_ENTRIES);
    const plans = await Promise.all(chunk.map((name) => sortOps(client, job, name)));
    try {
      await client.multi(plans.flat());
      sorted += chunk.length;
    } catch (err) {
      if (!(err instanceof ZkError)) throw err;
      for (const name of chunk) if (await sortOne(client, job, name)) sorted++;
    }
  }
  return sorted;
}

/** What moving one legacy entry takes (see the contract above). */
async function sortOps(client: Coordination, job: string, name: string): Promise<Op[]> {
  const legacy = layout.legacyHistoryEntry(job, name);
  const parsed = parseHistoryName(name);
  const found = parsed === null ? null : await readStored(client, job, parsed.id);
  if (parsed === null || found === null) return [{ op: 'delete', path: legacy }];
  const { stored, version } = found;
  const finishedAt = stored.kind === 'bundle' ? (stored.bundle.state === 'done' ? stored.bundle.finishedAt : undefined) : stored.record.finishedAt;
  // A run of its own that is dead (or not finished) has no history entry; a bundle keeps its finished runs'.
  const finished = stored.kind === 'bundle' || isHistoryState(stored.record.state);
  if (finishedAt !== parsed.endMs || !finished) return [{ op: 'delete', path: legacy }];
  const runs = runsOf(stored);
  return [{ op: 'check', path: layout.run(job, parsed.id), version }, ...historyCreateOps(job, parsed.id, parsed.endMs, runs), { op: 'delete', path: legacy }];
}

/** One legacy entry alone, read again while it races a retry or another sorter; true once it is moved or dropped. */
async function sortOne(client: Coordination, job: string, name: string): Promise<boolean> {
  const legacy = layout.legacyHistoryEntry(job, name);
  for (let tries = 0; tries < ENTRY_TRIES; tries++) {
    if ((await client.exists(legacy)) === null) return false; // another sorter moved it
    const ops = await sortOps(client, job, name);
    // Entries of its states already there (a sorter that raced us) are not made twice.
    const present = await Promise.all(ops.map((o) => (o.op === 'create' ? client.exists(o.path) : null)));
    try {
      await client.multi(ops.filter((_, i) => present[i] === null));
      return true;
    } catch (err) {
      if (!isZkError(err, 'BAD_VERSION') && !isZkError(err, 'NO_NODE') && !isZkError(err, 'NODE_EXISTS')) throw err;
      // The record, the legacy entry or an entry of its states moved meanwhile: read again.
    }
  }
  return false;
}
