/**
 * Node, children and tree caches on both backends: initial load, every kind
 * of event, re-armed watches (a second change is seen too), changes made
 * while the cache's connection was cut, and a full reload after its session
 * was LOST.
 */
import { expect, it } from 'vitest';
import { describeOnBackends, nextEvent, nextState } from '../helpers/backends.ts';
import { NodeCache } from '../../shared/recipes/node-cache.ts';
import { ChildrenCache } from '../../shared/recipes/children-cache.ts';
import { TreeCache, type CachedNode } from '../../shared/recipes/tree-cache.ts';

const b = (s: string): Buffer => Buffer.from(s);

/** The first value a listener registration delivers that satisfies `match`. */
function first<T extends unknown[]>(what: string, on: (l: (...args: T) => void) => () => void, match: (...args: T) => boolean = () => true): Promise<T> {
  return nextEvent(what, (deliver) => {
    const off = on((...args) => {
      if (match(...args)) {
        off();
        deliver(args);
      }
    });
  });
}


describeOnBackends('recipes: caches', (env) => {
  it('node cache: absent at start, then created, changed (twice: the watch re-arms), deleted, created again', async () => {
    const [c, writer] = await Promise.all([env.client(), env.client()]);
    const cache = new NodeCache(c, '/cfg');
    env.defer(() => cache.close());
    await cache.start();
    expect(cache.isInitialized).toBe(true);
    expect(cache.current).toBeUndefined();

    let ev: Promise<unknown[]> = first('created', (l) => cache.onCreated(l));
    await writer.create('/cfg', b('v1'));
    expect(((await ev)[0] as CachedNode).data.toString()).toBe('v1');

    for (const v of ['v2', 'v3']) {
      ev = first('changed', (l) => cache.onChanged(l));
      await writer.set('/cfg', b(v));
      const [node, prev] = (await ev) as [CachedNode, CachedNode];
      expect(node.data.toString()).toBe(v);
      expect(prev.data.toString()).not.toBe(v);
    }
    expect(cache.current?.data.toString()).toBe('v3');

    ev = first('deleted', (l) => cache.onDeleted(l));
    await writer.delete('/cfg');
    expect(((await ev)[0] as CachedNode).data.toString()).toBe('v3');
    expect(cache.current).toBeUndefined();

    ev = first('created again', (l) => cache.onCreated(l));
    await writer.create('/cfg', b('v4'));
    await ev;
    expect(cache.current?.data.toString()).toBe('v4');
  });

  it('children cache: initial load, then added, updated, removed for every change', async () => {
    const [c, writer] = await Promise.all([env.client(), env.client()]);
    // Fixtures through the cache's own client: another client's server may lag (ZooKeeper reads are not synced).
    await c.ensurePath('/kids');
    await c.create('/kids/a', b('1'));
    await c.create('/kids/b', b('2'));
    const cache = new ChildrenCache(c, '/kids');
    env.defer(() => cache.close());
    const initial: string[] = [];
    cache.onAdded((name) => initial.push(name));
    await cache.start();
    expect(initial.sort()).toEqual(['a', 'b']);
    expect(cache.names()).toEqual(['a', 'b']);
    expect(cache.get('b')?.data.toString()).toBe('2');

    const added = first<[string, CachedNode]>('added c', (l) => cache.onAdded(l));
    await writer.create('/kids/c', b('3'));
    expect((await added)[0]).toBe('c');

    const updated = first<[string, CachedNode, CachedNode]>('updated a', (l) => cache.onUpdated(l));
    await writer.set('/kids/a', b('1b'));
    const [name, node, prev] = await updated;
    expect([name, node.data.toString(), prev.data.toString()]).toEqual(['a', '1b', '1']);

    const removed = first<[string, CachedNode]>('removed b', (l) => cache.onRemoved(l));
    await writer.delete('/kids/b');
    expect((await removed)[0]).toBe('b');
    expect([...cache.current()].map(([n, d]) => `${n}=${d.data.toString()}`)).toEqual(['a=1b', 'c=3']);
  });

  it('children cache sees changes made while its connection was cut, once RECONNECTED', async () => {
    const writer = await env.client();
    const { client, proxy } = await env.proxied({ sessionTimeoutMs: 10_000 });
    await client.ensurePath('/kids');
    await client.create('/kids/a', b('1'));
    await client.create('/kids/b', b('2'));
    const cache = new ChildrenCache(client, '/kids');
    env.defer(() => cache.close());
    await cache.start();

    const suspended = nextState(client, 'SUSPENDED');
    proxy.cut();
    await suspended;
    const added = first<[string, CachedNode]>('added x', (l) => cache.onAdded(l), (n) => n === 'x');
    const updated = first<[string, CachedNode, CachedNode]>('updated a', (l) => cache.onUpdated(l), (n) => n === 'a');
    const removed = first<[string, CachedNode]>('removed b', (l) => cache.onRemoved(l), (n) => n === 'b');
    await writer.create('/kids/x', b('new'));
    await writer.set('/kids/a', b('changed'));
    await writer.delete('/kids/b');
    // Still the old picture while disconnected.
    expect(cache.names()).toEqual(['a', 'b']);
    const back = nextState(client, 'RECONNECTED');
    proxy.restore();
    expect((await back).sessionChanged).toBe(false);
    await Promise.all([added, updated, removed]);
    expect([...cache.current()].map(([n, d]) => `${n}=${d.data.toString()}`)).toEqual(['a=changed', 'x=new']);
  });

  it('after LOST the caches reload on the new session, report what changed, and keep watching', async () => {
    const writer = await env.client();
    const { client, proxy } = await env.proxied({ sessionTimeoutMs: 2_000 });
    await client.ensurePath('/kids');
    await client.create('/kids/a', b('1'));
    await client.create('/node', b('n1'));
    const kids = new ChildrenCache(client, '/kids');
    const node = new NodeCache(client, '/node');
    env.defer(() => kids.close());
    env.defer(() => node.close());
    await Promise.all([kids.start(), node.start()]);

    const lost = nextState(client, 'LOST');
    proxy.cut();
    await lost;
    const removedA = first<[string, CachedNode]>('removed a', (l) => kids.onRemoved(l), (n) => n === 'a');
    const addedY = first<[string, CachedNode]>('added y', (l) => kids.onAdded(l), (n) => n === 'y');
    const changed = first<[CachedNode, CachedNode]>('node changed', (l) => node.onChanged(l));
    await writer.delete('/kids/a');
    await writer.create('/kids/y', b('y'));
    await writer.set('/node', b('n2'));
    const renewed = nextState(client, 'RECONNECTED');
    proxy.restore();
    expect((await renewed).sessionChanged).toBe(true);
    await Promise.all([removedA, addedY, changed]);
    expect(node.current?.data.toString()).toBe('n2');

    // The new session's watches are armed: later changes arrive too.
    const addedZ = first<[string, CachedNode]>('added z', (l) => kids.onAdded(l), (n) => n === 'z');
    const changedAgain = first<[CachedNode, CachedNode]>('node changed again', (l) => node.onChanged(l));
    await writer.create('/kids/z', b('z'));
    await writer.set('/node', b('n3'));
    await Promise.all([addedZ, changedAgain]);
    expect(kids.names()).toEqual(['y', 'z']);
  });

  it('tree cache: bounded depth, nested adds, subtree removal deepest first, updates', async () => {
    const [c, writer] = await Promise.all([env.client(), env.client()]);
    await c.ensurePath('/t/a/b/c');
    await c.set('/t/a/b', b('ab'));
    const cache = new TreeCache(c, '/t', { maxDepth: 2 });
    env.defer(() => cache.close());
    await cache.start();
    expect(cache.nodes().map((n) => n.path)).toEqual(['/t', '/t/a', '/t/a/b']);
    expect(cache.get('/t/a/b')?.data.toString()).toBe('ab');
    expect(cache.children('/t/a/b')).toBeUndefined();

    const addedY = first<[CachedNode]>('added /t/x/y', (l) => cache.onAdded(l), (n) => n.path === '/t/x/y');
    await writer.ensurePath('/t/x/y');
    await addedY;
    expect(cache.children('/t')).toEqual(['a', 'x']);

    const updated = first<[CachedNode, CachedNode]>('updated /t/x/y', (l) => cache.onUpdated(l));
    await writer.set('/t/x/y', b('xy'));
    expect((await updated)[0].data.toString()).toBe('xy');

    const removed: string[] = [];
    const allRemoved = first<[CachedNode]>('removed /t/a', (l) => cache.onRemoved((n) => (removed.push(n.path), l(n))), (n) => n.path === '/t/a');
    await writer.deleteRecursive('/t/a');
    await allRemoved;
    expect(removed).toEqual(['/t/a/b', '/t/a']);
    expect(cache.nodes().map((n) => n.path)).toEqual(['/t', '/t/x', '/t/x/y']);
    expect(cache.size).toBe(3);
  });

  it('tree cache catches up on nested changes made while its connection was cut', async () => {
    const writer = await env.client();
    const { client, proxy } = await env.proxied({ sessionTimeoutMs: 10_000 });
    await client.ensurePath('/t/a/b');
    const cache = new TreeCache(client, '/t');
    env.defer(() => cache.close());
    await cache.start();
    expect(cache.nodes().map((n) => n.path)).toEqual(['/t', '/t/a', '/t/a/b']);

    const suspended = nextState(client, 'SUSPENDED');
    proxy.cut();
    await suspended;
    const added = first<[CachedNode]>('added /t/x/y', (l) => cache.onAdded(l), (n) => n.path === '/t/x/y');
    const removed = first<[CachedNode]>('removed /t/a/b', (l) => cache.onRemoved(l), (n) => n.path === '/t/a/b');
    const updated = first<[CachedNode, CachedNode]>('updated /t/a', (l) => cache.onUpdated(l), (n) => n.path === '/t/a');
    await writer.ensurePath('/t/x/y');
    await writer.delete('/t/a/b');
    await writer.set('/t/a', b('a2'));
    proxy.restore();
    await Promise.all([added, removed, updated]);
    expect(cache.nodes().map((n) => n.path)).toEqual(['/t', '/t/a', '/t/x', '/t/x/y']);
    expect(cache.get('/t/a')?.data.toString()).toBe('a2');
  });
});
