/** The shared counter on both backends: exact sums under concurrent adds, compare-and-set, and refusing foreign data. */
import { expect, it } from 'vitest';
import { describeOnBackends, until } from '../helpers/backends.ts';
import { SharedCounter } from '../../shared/recipes/counter.ts';
import { isDroverError } from '../../shared/errors.ts';

describeOnBackends('recipes: counter', (env) => {
  it('concurrent increments from several clients add up exactly', async () => {
    const clients = await Promise.all([env.client(), env.client(), env.client(), env.client()]);
    const perClient = 25;
    const seen = new Set<number>();
    await Promise.all(
      clients.map(async (c, i) => {
        const counter = new SharedCounter(c, '/counters/hits');
        for (let k = 0; k < perClient; k++) {
          const delta = i + 1;
          // Every successful add returns a value no other add returned.
          const v = await counter.add(delta);
          expect(seen.has(v)).toBe(false);
          seen.add(v);
        }
      }),
    );
    const expected = perClient * (1 + 2 + 3 + 4);
    expect(Math.max(...seen)).toBe(expected);
    expect(seen.size).toBe(4 * perClient);
    // The last add may have gone through another member, whose write this client's server may not have applied yet.
    const reader = new SharedCounter(clients[0]!, '/counters/hits');
    await until('the stored sum', async () => (await reader.get()) === expected);
  });

  it('compareAndSet succeeds only from the expected value; a missing node counts as initial', async () => {
    const c = await env.client();
    const counter = new SharedCounter(c, '/counters/cas', { initial: 10 });
    expect(await counter.get()).toBe(10);
    expect(await counter.compareAndSet(11, 20)).toBe(false);
    expect(await counter.compareAndSet(10, 20)).toBe(true);
    expect(await counter.get()).toBe(20);
    expect(await counter.add(-25)).toBe(-5);
    expect(await counter.compareAndSet(20, 0)).toBe(false);
    expect(await counter.get()).toBe(-5);
  });

  it('refuses a node that does not hold an integer, and bad deltas', async () => {
    const c = await env.client();
    await c.create('/junk', Buffer.from('{"not":"a number"}'));
    const counter = new SharedCounter(c, '/junk');
    expect(isDroverError(await counter.get().catch((e: unknown) => e), 'DROVER_CORRUPT_STATE')).toBe(true);
    expect(isDroverError(await new SharedCounter(c, '/ok').add(1.5).catch((e: unknown) => e), 'DROVER_INVALID_ARGUMENT')).toBe(true);
  });
});
