/** The dashboard's run duration histogram observes each finish once, from its first look on, within a bound. */
import { describe, it, expect } from 'vitest';
import { FinishTracker } from '../../dashboard/metrics/finish-tracker.ts';

const runs = (...keys: string[]) => keys.map((key) => ({ key }));

describe('FinishTracker', () => {
  it('learns on the first look, then reports only new finishes', () => {
    const t = new FinishTracker<{ key: string }>();
    expect(t.fresh(runs('a@1', 'b@2'))).toEqual([]);
    expect(t.fresh(runs('a@1', 'b@2', 'c@3'))).toEqual(runs('c@3'));
    expect(t.fresh(runs('c@3'))).toEqual([]);
    // A run retried and finished again is a new finish.
    expect(t.fresh(runs('a@1', 'a@9'))).toEqual(runs('a@9'));
  });

  it('forgets the oldest keys beyond its bound', () => {
    const t = new FinishTracker<{ key: string }>(2);
    t.fresh([]);
    expect(t.fresh(runs('a', 'b', 'c'))).toEqual(runs('a', 'b', 'c'));
    expect(t.fresh(runs('b', 'c'))).toEqual([]);
    expect(t.fresh(runs('a'))).toEqual(runs('a'));
  });
});
