/**
 * History pruning, one state directory at a time: in each of
 * history/<job>/{succeeded,failed,cancelled}, the entries beyond the newest
 * `keep` or older than `maxAgeMs` go. `keep` bounds each state on its own
 * (as BullMQ's removeOnComplete and removeOnFail do), so a flood of
 * successes never pushes the last failures out.
 *
 * Contract of an entry's removal, per entry, in one multi (a chunk's entries
 * together, then one by one when the chunk fails):
 *   a run of its own, or a bundle with no other entry
 *       delete the entry; delete the record (a bundle's dead-letter nodes
 *       follow once its record is gone: they point into it)
 *   a bundle with entries in other state directories (same name, read first)
 *       delete the entry; check each of those still exists: the record
 *       stays for them. A check that fails (NO_NODE: pruned meanwhile) makes
 *       this entry look again, and, now the last, take the record with it:
 *       two pruners racing cannot both leave the record behind.
 *   the entry gone (NO_NODE)
 *       someone retried or pruned that run, and its record is theirs now:
 *       nothing is deleted for it
 *   the record gone, the entry there
 *       the entry names nothing: deleted alone
 */
import { childrenOrEmpty, deleteIfPresent } from '../client/absent-ok.ts';
import type { Coordination, Op } from '../client/coordination.ts';
import { isZkError } from '../client/zk-error.ts';
import { parseHistoryName } from './history-entries.ts';
import type { HistoryState, JobSpec } from './job-types.ts';
import { HISTORY_STATES, layout } from './layout.ts';
import { readStored } from './run-lookup.ts';
import { isBundleId } from './run-id.ts';

const CHUNK_RUNS = 100;
/** Looks an entry takes when its bundle's other entries keep going meanwhile. */
const ENTRY_TRIES = 3;

/** An entry's name read: h-<endMs13>-<id>. */
type Entry = { endMs: number; id: string };

/** Drops every state directory's entries beyond spec.history; resolves to how many entries went. */
export async function pruneHistoryEntries(client: Coordination, job: string, bounds: JobSpec['history'], nowMs: number): Promise<number> {
  let removed = 0;
  for (const state of HISTORY_STATES) removed += await pruneState(client, job, state, bounds, nowMs);
  return removed;
}

async function pruneState(client: Coordination, job: string, state: HistoryState, bounds: JobSpec['history'], nowMs: number): Promise<number> {
  // h-<endMs13>-<id>: by name is by end time, oldest first.
  const entries = (await childrenOrEmpty(client, layout.historyDir(job, state)))
    .sort()
    .map(parseHistoryName)
    .filter((e): e is Entry => e !== null);
  const cutoff = nowMs - bounds.maxAgeMs;
  const excess = Math.max(0, entries.length - bounds.keep);
  const drop = entries.filter((e, i) => i < excess || e.endMs < cutoff);
  let removed = 0;
  for (let i = 0; i < drop.length; i += CHUNK_RUNS) removed += await pruneChunk(client, job, state, drop.slice(i, i + CHUNK_RUNS));
  return removed;
}

/** The entries of the same name in the other state directories that exist now (only bundles have any). */
async function otherEntries(client: Coordination, job: string, state: HistoryState, e: Entry): Promise<string[]> {
  if (!isBundleId(e.id)) return [];
  const others = HISTORY_STATES.filter((s) => s !== state).map((s) => layout.historyEntry(job, s, e.endMs, e.id));
  const present = await Promise.all(others.map((p) => client.exists(p)));
  return others.filter((_, i) => present[i] !== null);
}

function removalOps(job: string, entry: string, id: string, others: string[]): Op[] {
  if (others.length > 0) return [{ op: 'delete', path: entry }, ...others.map((path): Op => ({ op: 'check', path, version: -1 }))];
  return [
    { op: 'delete', path: entry },
    { op: 'delete', path: layout.run(job, id) },
  ];
}

/** The dead-letter nodes of a bundle about to go with its record (read before: they point into it). */
async function deadOfBundle(client: Coordination, job: string, id: string): Promise<string[]> {
  const found = await readStored(client, job, id);
  return found?.stored.kind === 'bundle' ? found.stored.bundle.runs.filter((r) => r.state === 'dead').map((r) => layout.deadRun(job, r.id)) : [];
}

async function pruneChunk(client: Coordination, job: string, state: HistoryState, chunk: Entry[]): Promise<number> {
  const others = await Promise.all(chunk.map((e) => otherEntries(client, job, state, e)));
  // Bundles whose record goes now (no other entry keeps it): their dead-letter nodes go after it.
  const last = chunk.filter((e, i) => isBundleId(e.id) && others[i]?.length === 0);
  const dead = (await Promise.all(last.map((e) => deadOfBundle(client, job, e.id)))).flat();
  try {
    await client.multi(chunk.flatMap((e, i) => removalOps(job, layout.historyEntry(job, state, e.endMs, e.id), e.id, others[i] ?? [])));
    await Promise.all(dead.map((p) => deleteIfPresent(client, p)));
    return chunk.length;
  } catch (err) {
    if (!isZkError(err, 'NO_NODE')) throw err;
  }
  // An entry, a record or another entry of a bundle went meanwhile: each entry on its own.
  let removed = 0;
  for (const e of chunk) if (await pruneOne(client, job, state, e)) removed++;
  return removed;
}

/** One entry's removal (the contract above); true when the entry went with or without its record. */
async function pruneOne(client: Coordination, job: string, state: HistoryState, e: Entry): Promise<boolean> {
  const entry = layout.historyEntry(job, state, e.endMs, e.id);
  for (let tries = 0; tries < ENTRY_TRIES; tries++) {
    const others = await otherEntries(client, job, state, e);
    const dead = others.length === 0 && isBundleId(e.id) ? await deadOfBundle(client, job, e.id) : [];
    try {
      await client.multi(removalOps(job, entry, e.id, others));
      await Promise.all(dead.map((p) => deleteIfPresent(client, p)));
      return true;
    } catch (err) {
      if (!isZkError(err, 'NO_NODE')) throw err;
      // The entry gone: retried or pruned by someone else, its record is theirs.
      if ((await client.exists(entry)) === null) return false;
      if (others.length === 0) {
        // Only the record was gone: the entry names nothing, drop it.
        await deleteIfPresent(client, entry);
        return false;
      }
      // Another entry of the bundle went meanwhile: look again (this one may be the last now).
    }
  }
  return false; // its bundle's other entries kept moving: the next pass takes it
}
