/** Bundle settles share multis: one in flight, a multi's worth at a time, all or nothing. */
import { describe, expect, it } from 'vitest';
import type { Coordination, Op } from '../../../shared/client/coordination.ts';
import { MULTI_BYTES_TARGET } from '../../../shared/jobs/limits.ts';
import { SettleBatch } from '../../../worker/runs/settle-batch.ts';

/** A client whose multis wait until the test answers them. */
function fakeClient() {
  const calls: { ops: Op[]; answer: (err?: Error) => void }[] = [];
  const client = {
    multi: (ops: Op[]) =>
      new Promise<void>((resolve, reject) => {
        calls.push({ ops, answer: (err) => (err ? reject(err) : resolve()) });
      }),
  } as unknown as Coordination;
  return { client, calls };
}

const settle = (id: string, bytes = 10): Op[] => [
  { op: 'set', path: `/runs/${id}`, data: Buffer.alloc(bytes), version: 1 },
  { op: 'delete', path: `/leases/${id}` },
];
const turn = () => new Promise((r) => setImmediate(r));

describe('SettleBatch', () => {
  it('sends the settles of one turn in one multi, and those arriving meanwhile in the next', async () => {
    const { client, calls } = fakeClient();
    const batch = new SettleBatch(client);
    const a = batch.submit(settle('a'));
    const b = batch.submit(settle('b'));
    await turn();
    expect(calls).toHaveLength(1);
    expect(calls[0]!.ops.map((o) => o.path)).toEqual(['/runs/a', '/leases/a', '/runs/b', '/leases/b']);
    const c = batch.submit(settle('c'));
    await turn();
    expect(calls).toHaveLength(1); // one in flight
    calls[0]!.answer();
    expect(await Promise.all([a, b])).toEqual([true, true]);
    await turn();
    expect(calls).toHaveLength(2);
    calls[1]!.answer();
    expect(await c).toBe(true);
  });

  it('a failed batch answers every settle in it false (each then settles alone)', async () => {
    const { client, calls } = fakeClient();
    const batch = new SettleBatch(client);
    const both = Promise.all([batch.submit(settle('a')), batch.submit(settle('b'))]);
    await turn();
    calls[0]!.answer(new Error('BAD_VERSION'));
    expect(await both).toEqual([false, false]);
  });

  it('splits by size, and refuses a settle that would not fit a multi of its own', async () => {
    const { client, calls } = fakeClient();
    const batch = new SettleBatch(client);
    expect(await batch.submit(settle('huge', MULTI_BYTES_TARGET))).toBe(false);
    expect(calls).toHaveLength(0);
    const big = Math.floor(MULTI_BYTES_TARGET * 0.6);
    const a = batch.submit(settle('a', big));
    const b = batch.submit(settle('b', big));
    await turn();
    expect(calls.map((c) => c.ops.length)).toEqual([2]);
    calls[0]!.answer();
    expect(await a).toBe(true);
    await turn();
    expect(calls.map((c) => c.ops.length)).toEqual([2, 2]);
    calls[1]!.answer();
    expect(await b).toBe(true);
  });
});
