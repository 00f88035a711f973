/**
 * Which history entries a finished record has (history-entries.ts): one in
 * its state's directory for a run of its own, one per final state among a
 * bundle's runs (none when all are dead), and the merge the all-finished
 * view pages over (a bundle's entries share a name: listed once).
 */
import { describe, expect, it } from 'vitest';
import { historyEntryPaths, historyStatesOf, isHistoryState, mergeNames, parseHistoryName } from '../../shared/jobs/history-entries.ts';
import type { RunRecord, RunState } from '../../shared/jobs/job-types.ts';

const run = (state: RunState): RunRecord => ({ v: 1, id: 'x', job: 'j', state, input: null, attempt: 1, maxAttempts: 1, priority: 5, enqueuedAt: 0 });

describe('history entries by final state', () => {
  it('names an entry per final state among the runs, in succeeded, failed, cancelled order; none for dead runs', () => {
    expect(historyStatesOf([run('succeeded')])).toEqual(['succeeded']);
    expect(historyStatesOf([run('cancelled'), run('dead'), run('succeeded'), run('succeeded')])).toEqual(['succeeded', 'cancelled']);
    expect(historyStatesOf([run('dead'), run('dead')])).toEqual([]);
    expect(historyEntryPaths('j', 'b-1', 42, [run('failed'), run('succeeded')])).toEqual(['/history/j/succeeded/h-0000000000042-b-1', '/history/j/failed/h-0000000000042-b-1']);
    expect(['succeeded', 'failed', 'cancelled', 'dead', 'queued', 'active'].map((s) => isHistoryState(s as RunState))).toEqual([true, true, true, false, false, false]);
  });

  it('reads the end time and the id from an entry name, and nothing from another name', () => {
    expect(parseHistoryName('h-0000000000042-r-abc')).toEqual({ endMs: 42, id: 'r-abc' });
    expect(parseHistoryName('h-0000000000042-b-000000001-aaaaaaaa')).toEqual({ endMs: 42, id: 'b-000000001-aaaaaaaa' });
    for (const name of ['succeeded', 'h-42-r-abc', 'd-0000000000042-r-abc']) expect(parseHistoryName(name)).toBeNull();
  });

  it('merges sorted listings into one sorted listing, each name once', () => {
    expect(mergeNames([])).toEqual([]);
    expect(mergeNames([[], ['a', 'c'], []])).toEqual(['a', 'c']);
    expect(mergeNames([['a', 'd', 'f'], ['b', 'd'], ['c', 'd', 'g']])).toEqual(['a', 'b', 'c', 'd', 'f', 'g']);
    const lists = [0, 1, 2].map((k) => Array.from({ length: 50 }, (_, i) => `h-${String(i * 3 + k).padStart(13, '0')}-r`));
    expect(mergeNames(lists)).toEqual([...lists.flat()].sort());
  });
});
