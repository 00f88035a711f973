/**
 * Exclusive and read/write locks on both backends: mutual exclusion under
 * concurrent clients, one watch per waiter (no herd), FIFO handover,
 * timeouts that leave nothing behind, and a holder's LOST.
 */
import { expect, it } from 'vitest';
import { describeOnBackends, nextEvent, until } from '../helpers/backends.ts';
import type { Coordination } from '../../shared/client/coordination.ts';
import { Lock } from '../../shared/recipes/lock.ts';
import { ReadWriteLock } from '../../shared/recipes/read-write-lock.ts';
import { isDroverError } from '../../shared/errors.ts';
import { watchedPaths } from './recipes-watch-count.ts';

const PATH = '/locks/l';

describeOnBackends('recipes: locks', (env) => {
  async function clients(n: number): Promise<Coordination[]> {
    return Promise.all(Array.from({ length: n }, () => env.client()));
  }

  it('excludes concurrent holders: a read-modify-write under the lock never conflicts', async () => {
    const cs = await clients(4);
    await cs[0]!.create('/count', Buffer.from('0'));
    let inside = 0;
    let maxInside = 0;
    const rounds = 5;
    await Promise.all(
      cs.map(async (c) => {
        const lock = new Lock(c, PATH);
        for (let r = 0; r < rounds; r++) {
          await lock.acquire({ timeoutMs: 20_000 });
          inside++;
          maxInside = Math.max(maxInside, inside);
          // Versioned write: a second holder at the same time would hit BAD_VERSION.
          const { data, stat } = await c.get('/count');
          await c.set('/count', Buffer.from(String(Number(data.toString()) + 1)), stat.version);
          inside--;
          await lock.release();
        }
      }),
    );
    expect(maxInside).toBe(1);
    // Another member's server may not have applied the last holder's writes yet: read with a deadline.
    await until('count reaches the sum', async () => (await cs[0]!.get('/count')).data.toString() === String(4 * rounds));
    await until('no lock nodes left', async () => (await cs[0]!.children(PATH)).length === 0);
  });

  it('each waiter watches only its predecessor, and the lock passes in arrival order', async () => {
    const cs = await clients(4);
    const locks = cs.map((c) => new Lock(c, PATH));
    await locks[0]!.acquire();
    const order: number[] = [];
    const acquired: Promise<unknown>[] = [];
    for (let i = 1; i < 4; i++) {
      // One arrival at a time, so the queue order is known.
      acquired.push(locks[i]!.acquire({ timeoutMs: 20_000 }).then(() => order.push(i)));
      await until(`waiter ${i} queued`, () => locks[i]!.nodePath);
    }
    const full = (p: string): string => `${env.root()}${p}`;
    for (let i = 1; i < 4; i++) {
      await until(`waiter ${i} watches its predecessor`, async () => {
        const w = await watchedPaths(env.backend(), cs[i]!.sessionId, env.root());
        return w.length === 1 && w[0] === full(locks[i - 1]!.nodePath!);
      });
    }
    expect(await watchedPaths(env.backend(), cs[0]!.sessionId, env.root())).toEqual([]);
    for (let i = 0; i < 3; i++) {
      await locks[i]!.release();
      await acquired[i];
      expect(locks[i + 1]!.isHeld).toBe(true);
    }
    expect(order).toEqual([1, 2, 3]);
    await locks[3]!.release();
  });

  it('a timed-out or aborted acquire fails with a code and leaves no node; acquire is not reentrant; release needs a hold', async () => {
    const [a, b] = await clients(2);
    const holder = new Lock(a!, PATH);
    await holder.acquire();
    const again = await holder.acquire().catch((e: unknown) => e);
    expect(isDroverError(again, 'DROVER_INVALID_ARGUMENT')).toBe(true);

    const waiter = new Lock(b!, PATH);
    const timedOut = await waiter.acquire({ timeoutMs: 300 }).catch((e: unknown) => e);
    expect(isDroverError(timedOut, 'DROVER_WAIT_TIMEOUT')).toBe(true);
    const ac = new AbortController();
    const aborted = waiter.acquire({ signal: ac.signal }).catch((e: unknown) => e);
    await until('waiter queued', () => waiter.nodePath);
    ac.abort();
    expect(isDroverError(await aborted, 'DROVER_CANCELLED')).toBe(true);
    expect(waiter.isHeld).toBe(false);
    // Read through the client that removed its node (it sees its own writes).
    expect(await b!.children(PATH)).toHaveLength(1);
    expect(isDroverError(await waiter.release().catch((e: unknown) => e), 'DROVER_NOT_HELD')).toBe(true);

    await holder.release();
    await waiter.acquire({ timeoutMs: 5_000 });
    expect(waiter.isHeld).toBe(true);
  });

  it('when the holder session ends the next waiter gets the lock', async () => {
    const [a, b] = await clients(2);
    await new Lock(a!, PATH).acquire();
    const waiter = new Lock(b!, PATH);
    const got = waiter.acquire({ timeoutMs: 20_000 });
    await until('waiter queued', () => waiter.nodePath);
    await a!.close();
    await got;
    expect(waiter.isHeld).toBe(true);
  });

  it('a holder whose session is LOST is told, and another contender gets the lock', async () => {
    const { client, proxy } = await env.proxied({ sessionTimeoutMs: 2_000 });
    const holder = new Lock(client, PATH);
    await holder.acquire();
    const lost = nextEvent('onLost', (d) => holder.onLost(() => d(undefined)));
    const other = new Lock(await env.client(), PATH);
    const got = other.acquire({ timeoutMs: 20_000 });
    proxy.cut();
    await lost;
    expect(holder.isHeld).toBe(false);
    await got;
    proxy.restore();
    await holder.release(); // nothing to release after a loss
  });

  it('a release made while the connection is cut takes effect once it is back (same session)', async () => {
    const { client, proxy } = await env.proxied({ sessionTimeoutMs: 10_000 });
    const holder = new Lock(client, PATH);
    await holder.acquire();
    const waiter = new Lock(await env.client(), PATH);
    const got = waiter.acquire({ timeoutMs: 20_000 });
    await until('waiter queued', () => waiter.nodePath);
    const suspended = nextEvent('SUSPENDED', (d) => client.onState((s) => s.state === 'SUSPENDED' && d(undefined)));
    proxy.cut();
    await suspended;
    const released = holder.release();
    expect(holder.isHeld).toBe(false);
    proxy.restore();
    await released;
    await got;
    expect(waiter.isHeld).toBe(true);
  });

  it('read/write: readers share, a writer waits for them and excludes later readers; one watch each', async () => {
    const cs = await clients(4);
    const [r1, r2, w, r3] = cs.map((c) => new ReadWriteLock(c, '/locks/rw'));
    await r1!.readLock.acquire();
    await r2!.readLock.acquire();
    expect(r1!.readLock.isHeld && r2!.readLock.isHeld).toBe(true);

    const writer = w!.writeLock.acquire({ timeoutMs: 20_000 });
    await until('writer queued', () => w!.writeLock.nodePath);
    const reader3 = r3!.readLock.acquire({ timeoutMs: 20_000 });
    await until('reader 3 queued', () => r3!.readLock.nodePath);

    const full = (p: string): string => `${env.root()}${p}`;
    // The writer watches the reader right before it; the late reader watches the writer.
    await until('writer watches r2', async () => {
      const x = await watchedPaths(env.backend(), cs[2]!.sessionId, env.root());
      return x.length === 1 && x[0] === full(r2!.readLock.nodePath!);
    });
    await until('reader 3 watches the writer', async () => {
      const x = await watchedPaths(env.backend(), cs[3]!.sessionId, env.root());
      return x.length === 1 && x[0] === full(w!.writeLock.nodePath!);
    });
    expect(w!.writeLock.isHeld).toBe(false);

    await r2!.readLock.release();
    // Still r1 ahead: the writer must keep waiting (it re-watches r1).
    await until('writer watches r1', async () => {
      const x = await watchedPaths(env.backend(), cs[2]!.sessionId, env.root());
      return x.length === 1 && x[0] === full(r1!.readLock.nodePath!);
    });
    expect(w!.writeLock.isHeld).toBe(false);
    await r1!.readLock.release();
    await writer;
    expect(w!.writeLock.isHeld).toBe(true);
    expect(r3!.readLock.isHeld).toBe(false);
    await w!.writeLock.release();
    await reader3;
    expect(r3!.readLock.isHeld).toBe(true);
  });
});
