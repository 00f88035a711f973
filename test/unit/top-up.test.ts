/** When a worker holding runs claimed ahead claims again (worker/runs/top-up.ts). */
import { describe, expect, it } from 'vitest';
import { TOP_UP_SHARE_MAX, claimWaits, topUpShare } from '../../worker/runs/top-up.ts';

describe('topUpShare', () => {
  it('claims at half the lead until a run and a claim have been timed', () => {
    expect(topUpShare({ runMs: null, claimMs: 10, concurrency: 50, ahead: 200, bundled: false })).toBe(0.5);
    expect(topUpShare({ runMs: 1, claimMs: null, concurrency: 50, ahead: 200, bundled: false })).toBe(0.5);
  });

  it('waits for most of the lead when it cannot cover one claim: each claim moves a full batch', () => {
    // 0.5 ms runs, 15 ms claims, 50 slots: 1,500 runs per claim against a lead of 200.
    expect(topUpShare({ runMs: 0.5, claimMs: 15, concurrency: 50, ahead: 200, bundled: false })).toBe(TOP_UP_SHARE_MAX);
  });

  it('keeps what one claim takes when the lead covers one to two claims', () => {
    // 5 ms runs: 150 runs per claim, a lead of 200 covers 1.3 claims.
    expect(topUpShare({ runMs: 5, claimMs: 15, concurrency: 50, ahead: 200, bundled: false })).toBe(0.5);
  });

  it('claims when one claim of lead is left once the lead covers two or more', () => {
    // 10 ms runs: 75 runs per claim, the lead covers 2.67: claim with 75 left.
    expect(topUpShare({ runMs: 10, claimMs: 15, concurrency: 50, ahead: 200, bundled: false })).toBeCloseTo(1 - 75 / 200, 6);
    // 40 ms runs: 19 runs per claim; at most 90% of the lead is used.
    expect(topUpShare({ runMs: 40, claimMs: 15, concurrency: 50, ahead: 200, bundled: false })).toBe(TOP_UP_SHARE_MAX);
  });

  it('keeps half the lead for bundled jobs', () => {
    expect(topUpShare({ runMs: 0.5, claimMs: 15, concurrency: 50, ahead: 1600, bundled: true })).toBe(0.5);
  });

  it('has nothing to wait for without a lead (the default, unused)', () => {
    expect(topUpShare({ runMs: 1, claimMs: 10, concurrency: 5, ahead: 0, bundled: false })).toBe(0.5);
  });
});

describe('claimWaits', () => {
  it('waits while the share of the lead is not used yet', () => {
    expect(claimWaits({ held: 150, want: 50, ahead: 200, share: 0.9, claimMax: 200 })).toBe(true);
    expect(claimWaits({ held: 20, want: 180, ahead: 200, share: 0.9, claimMax: 200 })).toBe(false);
  });

  it('never waits for more room than one claim fills: a lead of two claims is topped up by a full one', () => {
    // Lead 400, 90%: without the cap it would wait until 360 were free, a claim being at most 200.
    expect(claimWaits({ held: 200, want: 200, ahead: 400, share: 0.9, claimMax: 200 })).toBe(false);
    expect(claimWaits({ held: 250, want: 150, ahead: 400, share: 0.9, claimMax: 200 })).toBe(true);
  });

  it('does not wait with nothing held', () => {
    expect(claimWaits({ held: 0, want: 10, ahead: 400, share: 0.9, claimMax: 200 })).toBe(false);
  });

  it('bundles: the lead is within one claim, so the share alone decides', () => {
    expect(claimWaits({ held: 1000, want: 600, ahead: 1600, share: 0.5, claimMax: 2048 })).toBe(true);
    expect(claimWaits({ held: 700, want: 900, ahead: 1600, share: 0.5, claimMax: 2048 })).toBe(false);
  });
});
