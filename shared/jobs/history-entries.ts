/**
 * History entries by final state (layout.historyEntry): which entries a
 * finished record has, and what their names say. History is split by state
 * so that each state's count is one Stat.numChildren and each state's page
 * reads that state's directory alone (docs/adr/0008-operator-reads-by-page.md).
 *
 *   a run of its own   one entry, in the directory of its state
 *   a bundle           one entry per final state among its runs (succeeded,
 *                      failed, cancelled), all named h-<endMs13>-<bundleId>;
 *                      none when every run in it is dead: dead runs are in
 *                      /dead/<job>, and those dead-letter nodes keep the
 *                      bundle until an operator retries or cleans them, as
 *                      they keep a dead run of its own
 *
 * The entries of a done record follow from the record alone (its runs'
 * states and its finishedAt), so whoever moves or deletes it can name them.
 */
import type { Op } from '../client/coordination.ts';
import type { HistoryState, RunRecord, RunState } from './job-types.ts';
import { HISTORY_STATES, layout } from './layout.ts';

const HISTORY_NAME = /^h-(\d{13})-(.+)$/;

/** `h-<endMs13>-<id>` -> its end time and the record's id (a run's or a bundle's); null for any other name. */
export function parseHistoryName(name: string): { endMs: number; id: string } | null {
  const m = HISTORY_NAME.exec(name);
  return m?.[1] && m[2] ? { endMs: Number(m[1]), id: m[2] } : null;
}

export function isHistoryState(state: RunState): state is HistoryState {
  return (HISTORY_STATES as readonly string[]).includes(state);
}

/** The history states among these runs, in HISTORY_STATES order (a bundle of dead runs only: none). */
export function historyStatesOf(runs: readonly RunRecord[]): HistoryState[] {
  return HISTORY_STATES.filter((s) => runs.some((r) => r.state === s));
}

/** The entries of record `id` (a run's or a bundle's) finished at endMs with these runs. */
export function historyEntryPaths(job: string, id: string, endMs: number, runs: readonly RunRecord[]): string[] {
  return historyStatesOf(runs).map((s) => layout.historyEntry(job, s, endMs, id));
}

/** The creates that put a finished record into history. */
export function historyCreateOps(job: string, id: string, endMs: number, runs: readonly RunRecord[]): Op[] {
  return historyEntryPaths(job, id, endMs, runs).map((path): Op => ({ op: 'create', path }));
}

/**
 * Sorted (ascending) name lists merged into one ascending list, each name
 * once: a bundle's entries in several state directories share one name and
 * stand for one record. Linear: the listings are long, the pages short.
 */
export function mergeNames(lists: readonly (readonly string[])[]): string[] {
  const nonEmpty = lists.filter((l) => l.length > 0);
  if (nonEmpty.length === 1) return [...(nonEmpty[0] as readonly string[])];
  const at = nonEmpty.map(() => 0);
  const out: string[] = [];
  for (;;) {
    let min: string | undefined;
    for (const [i, l] of nonEmpty.entries()) {
      const name = l[at[i] as number];
      if (name !== undefined && (min === undefined || name < min)) min = name;
    }
    if (min === undefined) return out;
    out.push(min);
    for (const [i, l] of nonEmpty.entries()) if (l[at[i] as number] === min) at[i] = (at[i] as number) + 1;
  }
}
