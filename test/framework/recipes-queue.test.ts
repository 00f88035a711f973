/**
 * The naive FIFO queue on both backends: order, poll on empty, a take that
 * waits on a watch and wakes on offer, and concurrent consumers that get
 * every item exactly once.
 */
import { expect, it } from 'vitest';
import { describeOnBackends, nextEvent } from '../helpers/backends.ts';
import { FifoQueue } from '../../shared/recipes/fifo-queue.ts';
import { isDroverError } from '../../shared/errors.ts';

describeOnBackends('recipes: FIFO queue', (env) => {
  it('hands items out in offer order; poll on an empty queue is null', async () => {
    const q = new FifoQueue(await env.client(), '/q');
    expect(await q.poll()).toBeNull();
    for (let i = 0; i < 5; i++) await q.offer(Buffer.from(`item-${i}`));
    expect(await q.size()).toBe(5);
    const got: string[] = [];
    for (let i = 0; i < 5; i++) got.push((await q.poll())?.toString() ?? 'null');
    expect(got).toEqual(['item-0', 'item-1', 'item-2', 'item-3', 'item-4']);
    expect(await q.poll()).toBeNull();
  });

  it('take waits on an empty queue and wakes on the next offer; it times out with a code', async () => {
    const [c1, c2] = await Promise.all([env.client(), env.client()]);
    const consumer = new FifoQueue(c1, '/q');
    const producer = new FifoQueue(c2, '/q');
    const timedOut = await consumer.take({ timeoutMs: 300 }).catch((e: unknown) => e);
    expect(isDroverError(timedOut, 'DROVER_WAIT_TIMEOUT')).toBe(true);
    const taken = consumer.take({ timeoutMs: 20_000 });
    await producer.offer(Buffer.from('hello'));
    expect((await taken).toString()).toBe('hello');
  });

  it('concurrent consumers get every item exactly once', async () => {
    const clients = await Promise.all([env.client(), env.client(), env.client(), env.client()]);
    const producer = new FifoQueue(clients[0]!, '/q');
    const total = 40;
    const received: string[] = [];
    const consumers = clients.slice(1).map(async (c) => {
      const q = new FifoQueue(c, '/q');
      for (;;) {
        const item = (await q.take({ timeoutMs: 20_000 })).toString();
        if (item === 'stop') return;
        received.push(item);
      }
    });
    for (let i = 0; i < total; i++) await producer.offer(Buffer.from(String(i)));
    for (let i = 0; i < 3; i++) await producer.offer(Buffer.from('stop'));
    await Promise.all(consumers);
    expect(received.map(Number).sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i));
  });

  it('a take waiting when its session is LOST re-arms on the new session and gets the next item', async () => {
    const { client, proxy } = await env.proxied({ sessionTimeoutMs: 2_000 });
    const consumer = new FifoQueue(client, '/q');
    const producer = new FifoQueue(await env.client(), '/q');
    expect(await consumer.size()).toBe(0);
    const taken = consumer.take({ timeoutMs: 30_000 });
    const lost = nextEvent('LOST', (d) => client.onState((s) => s.state === 'LOST' && d(undefined)));
    proxy.cut();
    await lost;
    await producer.offer(Buffer.from('after-loss'));
    proxy.restore();
    expect((await taken).toString()).toBe('after-loss');
    expect(await consumer.size()).toBe(0);
  });
});
