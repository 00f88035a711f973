/** The leader's choice of DIFF, TRUNC+DIFF or SNAP, against a naive reading of the rules. */
import { describe, it, expect } from 'vitest';
import { test, fc } from '@fast-check/vitest';
import { planSync } from '../../../coordinator/zab/sync-plan.ts';
import type { Entry } from '../../../coordinator/zab/messages.ts';
import { makeZxid } from '../../../coordinator/zab/zxid.ts';

const e = (epoch: number, counter: number): Entry => ({ zxid: makeZxid(epoch, counter), data: Buffer.alloc(0) });
const log = [e(1, 1), e(1, 2), e(1, 3), e(3, 1), e(3, 2)];

describe('planSync', () => {
  it('DIFFs from an entry in the log, or from the base itself', () => {
    expect(planSync(log, 0, makeZxid(1, 2))).toEqual({ kind: 'diff', truncateTo: null, from: 2 });
    expect(planSync(log, 0, 0)).toEqual({ kind: 'diff', truncateTo: null, from: 0 });
    expect(planSync(log.slice(2), makeZxid(1, 2), makeZxid(1, 2))).toEqual({ kind: 'diff', truncateTo: null, from: 0 });
    expect(planSync(log, 0, makeZxid(3, 2))).toEqual({ kind: 'diff', truncateTo: null, from: 5 });
  });

  it('TRUNCs what the leader does not hold: beyond its end, or a diverged tail', () => {
    expect(planSync(log, 0, makeZxid(3, 9))).toEqual({ kind: 'diff', truncateTo: makeZxid(3, 2), from: 5 });
    // 2.x never reached this leader: cut back to 1.3, then send epoch 3.
    expect(planSync(log, 0, makeZxid(2, 4))).toEqual({ kind: 'diff', truncateTo: makeZxid(1, 3), from: 3 });
  });

  it('SNAPs a follower behind the base, or diverged below the whole retained log', () => {
    const compacted = log.slice(3);
    const base = makeZxid(1, 3);
    expect(planSync(compacted, base, makeZxid(1, 1))).toEqual({ kind: 'snap' });
    expect(planSync(compacted, base, 0)).toEqual({ kind: 'snap' });
    expect(planSync(compacted, base, makeZxid(2, 4))).toEqual({ kind: 'snap' });
    // With no snapshot the beginning is always shared.
    expect(planSync(log.slice(3), 0, makeZxid(2, 4))).toEqual({ kind: 'diff', truncateTo: 0, from: 0 });
  });

  test.prop([fc.uniqueArray(fc.integer({ min: 1, max: 60 }), { maxLength: 12 }), fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 70 })])(
    'agrees with a linear scan, and a DIFF always ends at the leader’s last entry',
    (zs, baseIn, followerLast) => {
      const sorted = zs.sort((a, b) => a - b);
      const base = Math.min(baseIn, (sorted[0] ?? 61) - 1);
      const l = sorted.filter((z) => z > base).map((zxid) => ({ zxid, data: Buffer.alloc(0) }));
      const plan = planSync(l, base, followerLast);
      const last = l[l.length - 1]?.zxid ?? base;
      let naive: ReturnType<typeof planSync>;
      const shared = [...l].reverse().find((x) => x.zxid <= followerLast);
      if (followerLast > last) naive = { kind: 'diff', truncateTo: last, from: l.length };
      else if (followerLast === base) naive = { kind: 'diff', truncateTo: null, from: 0 };
      else if (followerLast < base) naive = { kind: 'snap' };
      else if (shared?.zxid === followerLast) naive = { kind: 'diff', truncateTo: null, from: l.indexOf(shared) + 1 };
      else if (!shared) naive = base === 0 ? { kind: 'diff', truncateTo: 0, from: 0 } : { kind: 'snap' };
      else naive = { kind: 'diff', truncateTo: shared.zxid, from: l.indexOf(shared) + 1 };
      expect(plan).toEqual(naive);
      if (plan.kind === 'diff') expect(plan.from).toBeLessThanOrEqual(l.length);
    },
  );
});
