/**
 * Barrier and double barrier on both backends: the barrier releases exactly
 * when N have arrived (a member at N-1 times out instead), a member that
 * gives up does not count, a member whose session ends before the release
 * stops counting; the double barrier's enter waits for all N and its leave
 * for everyone.
 */
import { expect, it } from 'vitest';
import { describeOnBackends, nextEvent, until } from '../helpers/backends.ts';
import { Barrier } from '../../shared/recipes/barrier.ts';
import { DoubleBarrier } from '../../shared/recipes/double-barrier.ts';
import { isDroverError } from '../../shared/errors.ts';

function track(p: Promise<void>): { done: () => boolean; promise: Promise<void> } {
  let settled = false;
  const promise = p.then(() => {
    settled = true;
  });
  return { done: () => settled, promise };
}

describeOnBackends('recipes: barriers', (env) => {
  it('releases exactly when the N-th member arrives, not at N-1', async () => {
    const [c1, c2, c3] = await Promise.all([env.client(), env.client(), env.client()]);
    const b1 = new Barrier(c1!, '/barriers/b', { size: 3, id: 'one' });
    const b2 = new Barrier(c2!, '/barriers/b', { size: 3, id: 'two' });
    const b3 = new Barrier(c3!, '/barriers/b', { size: 3, id: 'three' });

    const first = track(b1.wait({ timeoutMs: 20_000 }));
    await until('first arrived', async () => (await b1.arrivedCount()) === 1);
    // With two of three present the barrier must hold: the second member's wait times out.
    const early = await b2.wait({ timeoutMs: 500 }).catch((e: unknown) => e);
    expect(isDroverError(early, 'DROVER_WAIT_TIMEOUT')).toBe(true);
    expect(await b1.isReleased()).toBe(false);
    expect(first.done()).toBe(false);
    // ...and the member that gave up withdrew (read through its own client, which saw its delete).
    expect(await b2.arrivedCount()).toBe(1);

    const second = track(b2.wait({ timeoutMs: 20_000 }));
    await until('second arrived', async () => (await b1.arrivedCount()) === 2);
    expect(await b1.isReleased()).toBe(false);
    await b3.wait({ timeoutMs: 20_000 });
    await Promise.all([first.promise, second.promise]);
    expect(await b1.isReleased()).toBe(true);
    // Released for good: a late reader passes at once.
    await new Barrier(c1!, '/barriers/b', { size: 3, id: 'late' }).wait({ timeoutMs: 5_000 });
  });

  it('a member whose session ends before the release stops counting', async () => {
    const [c1, c2, c3] = await Promise.all([env.client(), env.client(), env.client()]);
    const b1 = new Barrier(c1!, '/barriers/s', { size: 2, id: 'one' });
    const waiting = b1.wait({ timeoutMs: 1_000 }).catch((e: unknown) => e);
    await until('one arrived', async () => (await b1.arrivedCount()) === 1);
    expect(isDroverError(await waiting, 'DROVER_WAIT_TIMEOUT')).toBe(true);

    const b2 = new Barrier(c2!, '/barriers/s', { size: 2, id: 'two' });
    void b2.wait({ timeoutMs: 20_000 }).catch(() => undefined);
    await until('two arrived', async () => (await b1.arrivedCount()) === 1);
    await c2!.close();
    await until('two gone with its session', async () => (await b1.arrivedCount()) === 0);
    const b3 = new Barrier(c3!, '/barriers/s', { size: 2, id: 'three' });
    const third = await b3.wait({ timeoutMs: 500 }).catch((e: unknown) => e);
    expect(isDroverError(third, 'DROVER_WAIT_TIMEOUT')).toBe(true);
    expect(await b3.isReleased()).toBe(false);
  });

  it('double barrier: enter waits for all N; leave waits until every member has left', async () => {
    const cs = await Promise.all([env.client(), env.client(), env.client()]);
    const [a, b, c] = ['a', 'b', 'c'].map((id, i) => new DoubleBarrier(cs[i]!, '/barriers/d', { size: 3, id })) as [DoubleBarrier, DoubleBarrier, DoubleBarrier];

    const ea = track(a.enter({ timeoutMs: 20_000 }));
    const eb = track(b.enter({ timeoutMs: 20_000 }));
    await until('two entered', async () => (await cs[0]!.children('/barriers/d')).length === 2);
    expect(ea.done() || eb.done()).toBe(false);
    await c.enter({ timeoutMs: 20_000 });
    await Promise.all([ea.promise, eb.promise]);

    // a (lowest) and b leave; c is still working, so neither may finish.
    const la = track(a.leave({ timeoutMs: 20_000 }));
    const lb = track(b.leave({ timeoutMs: 20_000 }));
    await until('b removed itself', async () => !(await cs[0]!.children('/barriers/d')).includes('m-b'));
    expect((await cs[0]!.children('/barriers/d')).sort()).toEqual(['m-a', 'm-c', 'ready']);
    expect(la.done() || lb.done()).toBe(false);

    await c.leave({ timeoutMs: 20_000 });
    await Promise.all([la.promise, lb.promise]);
    expect(await cs[0]!.children('/barriers/d')).toEqual(['ready']);
  });

  it('double barrier: a member whose session is LOST while entering stops counting, and re-enters on its new session', async () => {
    const { client, proxy } = await env.proxied({ sessionTimeoutMs: 2_000 });
    const other = await env.client();
    const a = new DoubleBarrier(client, '/barriers/l', { size: 2, id: 'a' });
    const entering = track(a.enter({ timeoutMs: 30_000 }));
    await until('a entered', async () => (await other.children('/barriers/l').catch((): string[] => [])).includes('m-a'));
    const lost = nextEvent('LOST', (d) => client.onState((st) => st.state === 'LOST' && d(undefined)));
    proxy.cut();
    await lost;
    await until('a gone with its session', async () => !(await other.children('/barriers/l')).includes('m-a'));
    expect(entering.done()).toBe(false);
    proxy.restore();
    await until('a re-entered', async () => (await other.children('/barriers/l')).includes('m-a'));
    const bEnters = new DoubleBarrier(other, '/barriers/l', { size: 2, id: 'b' }).enter({ timeoutMs: 20_000 });
    await Promise.all([bEnters, entering.promise]);
  });

  it('double barrier: a timed-out enter fails with DROVER_WAIT_TIMEOUT and withdraws', async () => {
    const client = await env.client();
    const d = new DoubleBarrier(client, '/barriers/t', { size: 2 });
    const err = await d.enter({ timeoutMs: 300 }).catch((e: unknown) => e);
    expect(isDroverError(err, 'DROVER_WAIT_TIMEOUT')).toBe(true);
    expect((await client.children('/barriers/t')).length).toBe(0);
    expect(() => new DoubleBarrier({} as never, '/x', { size: 0 })).toThrow(/positive integer/);
  });
});
