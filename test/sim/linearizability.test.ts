/** The Wing–Gong checker must accept linearizable key-value histories and reject the rest. */
import { describe, it, expect } from 'vitest';
import { checkKvLinearizable, type KvOp } from './linearizability.ts';
import { mulberry32 } from '../helpers/seeded-rng.ts';

const set = (key: string, value: string, invokedAt: number, respondedAt: number): KvOp => ({ kind: 'set', key, value, invokedAt, respondedAt });
const get = (key: string, value: string | null, invokedAt: number, respondedAt: number): KvOp => ({ kind: 'get', key, value, invokedAt, respondedAt });

describe('the key-value linearizability checker', () => {
  it('accepts a sequential history and reads of concurrent writes', () => {
    expect(checkKvLinearizable([get('a', null, 0, 1), set('a', '1', 2, 3), get('a', '1', 4, 5)]).ok).toBe(true);
    // A read overlapping a write may see either value.
    expect(checkKvLinearizable([set('a', '1', 0, 10), get('a', null, 2, 3), get('a', '1', 4, 5)]).ok).toBe(true);
    expect(checkKvLinearizable([set('a', '1', 0, 3), set('a', '2', 1, 4), get('a', '1', 5, 6)]).ok).toBe(true);
  });

  it('rejects a stale read', () => {
    const r = checkKvLinearizable([set('x', '1', 0, 1), set('x', '2', 2, 3), get('x', '1', 4, 5)]);
    expect(r).toMatchObject({ ok: false, key: 'x' });
  });

  it('rejects a read going back in time, and a value nobody wrote', () => {
    expect(checkKvLinearizable([set('a', '1', 0, 10), get('a', '1', 2, 3), get('a', null, 4, 5)]).ok).toBe(false);
    expect(checkKvLinearizable([set('a', '1', 0, 1), get('a', '9', 2, 3)]).ok).toBe(false);
  });

  it('lets an unanswered write take effect or not, but only once', () => {
    expect(checkKvLinearizable([set('a', '1', 0, Infinity), get('a', null, 1, 2), get('a', '1', 5, 6)]).ok).toBe(true);
    expect(checkKvLinearizable([set('a', '1', 0, Infinity), get('a', '1', 5, 6), get('a', null, 7, 8)]).ok).toBe(false);
    // Unanswered reads constrain nothing.
    expect(checkKvLinearizable([set('a', '1', 0, 1), get('a', 'nonsense', 2, Infinity)]).ok).toBe(true);
  });

  it('keys are independent', () => {
    expect(checkKvLinearizable([set('a', '1', 0, 1), set('b', '2', 2, 3), get('a', '1', 4, 5), get('b', null, 4, 5)]).ok).toBe(false);
    expect(checkKvLinearizable([set('a', '1', 0, 1), set('b', '2', 2, 3), get('a', '1', 4, 5), get('b', '2', 4, 5)]).ok).toBe(true);
  });

  it('accepts random histories built from a real linearization, and rejects them once a read is made stale', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const rng = mulberry32(seed);
      const ops: KvOp[] = [];
      const value = new Map<string, string | null>();
      let t = 0;
      for (let i = 0; i < 40; i++) {
        const key = `k${Math.floor(rng() * 2)}`;
        // The operation takes effect at t; its interval stretches around it.
        t += 1 + Math.floor(rng() * 3);
        const invokedAt = t - Math.floor(rng() * 6);
        const respondedAt = rng() < 0.1 ? Infinity : t + Math.floor(rng() * 6);
        if (rng() < 0.5) {
          const v = `v${i}`;
          value.set(key, v);
          ops.push(set(key, v, invokedAt, respondedAt));
        } else {
          ops.push(get(key, value.get(key) ?? null, invokedAt, respondedAt));
        }
      }
      expect(checkKvLinearizable(ops), `seed ${seed}`).toEqual({ ok: true });
      // A read, after a later write completed, of the key's first value (which completed before that write began).
      const writes = ops.filter((o) => o.kind === 'set');
      const first = writes[0];
      const later = writes.find((w) => w.key === first?.key && first.respondedAt < w.invokedAt && w.respondedAt !== Infinity);
      if (!first || !later) continue;
      const stale = get(first.key, first.value, later.respondedAt + 100, later.respondedAt + 101);
      expect(checkKvLinearizable([...ops, stale]).ok, `seed ${seed} with a stale read`).toBe(false);
    }
  });
});
