/** The Coordination client on both backends: operations, errors, watches, multi, namespaces, connection states. */
import { expect, it } from 'vitest';
import { armed, describeOnBackends, nextEvent, until } from '../helpers/backends.ts';
import { ZkCode, ZkError } from '../../shared/client/zk-error.ts';
import type { StateChange, WatchEvent } from '../../shared/client/coordination.ts';
import { connectCoordination } from '../../shared/client/zk-client.ts';
import { DroverError } from '../../shared/errors.ts';

async function codeOf(p: Promise<unknown>): Promise<number | string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ZkError) return err.code;
    if (err instanceof DroverError) return err.code;
    throw err;
  }
  throw new Error('expected a failure');
}

describeOnBackends('the Coordination client', (env) => {
  it('creates, reads, sets and deletes with versions and Stat', async () => {
    const c = await env.client();
    expect(await c.create('/a', Buffer.from('one'))).toBe('/a');
    const { data, stat } = await c.get('/a');
    expect(data.toString()).toBe('one');
    expect(stat.version).toBe(0);
    expect(stat.ephemeralOwner).toBe('0');
    expect(stat.czxid).toBeGreaterThan(0);
    const s2 = await c.set('/a', Buffer.from('two'), 0);
    expect(s2.version).toBe(1);
    expect(await codeOf(c.set('/a', Buffer.from('x'), 0))).toBe(ZkCode.BAD_VERSION);
    expect(await codeOf(c.create('/a'))).toBe(ZkCode.NODE_EXISTS);
    expect(await codeOf(c.get('/missing'))).toBe(ZkCode.NO_NODE);
    expect(await codeOf(c.delete('/a', 7))).toBe(ZkCode.BAD_VERSION);
    await c.delete('/a', 1);
    expect(await c.exists('/a')).toBeNull();
  });

  it('names sequential and ephemeral nodes, relative to the namespace', async () => {
    const c = await env.client();
    await c.create('/q');
    const p = await c.create('/q/n-', Buffer.alloc(0), { mode: 'ephemeral_sequential' });
    expect(p).toMatch(/^\/q\/n-\d{10}$/);
    const stat = await c.exists(p);
    expect(stat?.ephemeralOwner).toBe(c.sessionId);
    expect(await c.children('/q')).toEqual([p.slice(3)]);
  });

  it('rejects bad paths with BAD_ARGUMENTS before sending', async () => {
    const c = await env.client();
    for (const bad of ['', 'relative', '/trailing/', '/a//b', '/a/./b', '/a/../b']) {
      expect(await codeOf(c.get(bad))).toBe(ZkCode.BAD_ARGUMENTS);
    }
  });

  it('multi is all or nothing and names the failing op', async () => {
    const c = await env.client();
    await c.create('/m');
    const err = await c.multi([
      { op: 'create', path: '/m/x' },
      { op: 'check', path: '/m', version: 5 },
    ]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ZkError);
    expect((err as ZkError).code).toBe(ZkCode.BAD_VERSION);
    expect((err as ZkError).opIndex).toBe(1);
    expect(await c.exists('/m/x')).toBeNull();
    const res = await c.multi([
      { op: 'create', path: '/m/x', data: Buffer.from('1') },
      { op: 'set', path: '/m/x', data: Buffer.from('2'), version: 0 },
      { op: 'check', path: '/m', version: 0 },
      { op: 'create', path: '/m/s-', mode: 'persistent_sequential' },
    ]);
    expect(res[0]).toEqual({ op: 'create', path: '/m/x' });
    expect(res[1]?.op === 'set' && res[1].stat.version).toBe(1);
    expect(res[3]?.op === 'create' && res[3].path).toMatch(/^\/m\/s-\d{10}$/);
  });

  it('multi results carry the Stat a read shows, created paths relative, ACLs and ephemerals as asked', async () => {
    const c = await env.client();
    c.addAuth('digest', 'bob:pw');
    const res = await c.multi([
      { op: 'create', path: '/r', data: Buffer.from('0') },
      { op: 'set', path: '/r', data: Buffer.from('12'), version: 0 },
      { op: 'create', path: '/r/e', mode: 'ephemeral' },
      { op: 'create', path: '/r/p', acl: [{ perms: 'rwcda', scheme: 'auth', id: '' }] },
      { op: 'delete', path: '/r/e' },
    ]);
    expect(res.map((r) => r.op)).toEqual(['create', 'set', 'create', 'create', 'delete']);
    // The Stat as of the set, before the children: the same fields a read shows for them.
    const { stat } = await c.get('/r');
    expect(res[1]?.op === 'set' && res[1].stat).toEqual({ ...stat, cversion: 0, numChildren: 0, pzxid: stat.czxid });
    const [again] = await c.multi([{ op: 'set', path: '/r', data: Buffer.from('3'), version: 1 }]);
    expect(again?.op === 'set' && again.stat).toEqual((await c.get('/r')).stat);
    expect((await c.getAcl('/r/p')).acl).toEqual([{ perms: 'rwcda', scheme: 'digest', id: expect.stringMatching(/^bob:/) }]);
    const other = await env.client();
    expect(await codeOf(other.get('/r/p'))).toBe(ZkCode.NO_AUTH);
  });

  it('getMany reads in order, null where a node is missing, in requests of a few hundred paths', async () => {
    const c = await env.client();
    await c.create('/g');
    await c.multi(Array.from({ length: 600 }, (_, i) => ({ op: 'create' as const, path: `/g/n${i}`, data: Buffer.from(`v${i}`) })));
    await c.set('/g/n7', Buffer.from('seven'), 0);
    expect(await c.getMany([])).toEqual([]);
    const paths = Array.from({ length: 1_200 }, (_, i) => `/g/n${i}`);
    const got = await c.getMany(paths);
    expect(got).toHaveLength(1_200);
    expect(got.slice(0, 600).map((r) => r?.data.toString())).toEqual(Array.from({ length: 600 }, (_, i) => (i === 7 ? 'seven' : `v${i}`)));
    expect(got.slice(600).every((r) => r === null)).toBe(true);
    expect(got[7]?.stat).toEqual((await c.get('/g/n7')).stat);
    expect(got[7]?.stat.version).toBe(1);
    // Empty data reads as an empty buffer, as get's does.
    await c.create('/g/empty');
    expect((await c.getMany(['/g/empty']))[0]?.data).toEqual(Buffer.alloc(0));
  });

  it('getMany fails with the code and index of a path it may not read, and on a bad path before sending', async () => {
    const owner = await env.client();
    owner.addAuth('digest', 'carol:pw');
    await owner.create('/h');
    await owner.create('/h/secret', Buffer.from('s'), { acl: [{ perms: 'cdrwa', scheme: 'auth', id: '' }] });
    const stranger = await env.client();
    const err = await stranger.getMany(['/h', '/h/secret']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ZkError);
    expect((err as ZkError).code).toBe(ZkCode.NO_AUTH);
    expect((err as ZkError).opIndex).toBe(1);
    expect((err as ZkError).path).toBe('/h/secret');
    expect((await owner.getMany(['/h/secret']))[0]?.data.toString()).toBe('s');
    expect(await codeOf(owner.getMany(['/h', 'relative']))).toBe(ZkCode.BAD_ARGUMENTS);
  });

  it('one-shot watches fire once with namespace-relative paths', async () => {
    const c = await env.client();
    const other = await env.client();
    await c.create('/w', Buffer.from('0'));
    const events: WatchEvent[] = [];
    const changed = (await armed<WatchEvent>('data watch', (deliver) => c.get('/w', (e) => (events.push(e), deliver(e))))).event;
    await other.set('/w', Buffer.from('1'));
    expect(await changed).toEqual({ type: 'changed', path: '/w' });
    const kids = (await armed<WatchEvent>('child watch', (deliver) => c.children('/w', deliver))).event;
    await other.create('/w/k');
    expect(await kids).toEqual({ type: 'children', path: '/w' });
    const created = (await armed<WatchEvent>('exists watch', (deliver) => c.exists('/later', deliver))).event;
    await other.create('/later');
    expect(await created).toEqual({ type: 'created', path: '/later' });
    await other.set('/w', Buffer.from('2'));
    await other.set('/w', Buffer.from('3'));
    // A round trip after the writes: any further event would have arrived before this answer.
    await c.get('/w');
    expect(events).toHaveLength(1);
  });

  it('many watchers on one path each hear the event once, through one library listener', async () => {
    const c = await env.client();
    const other = await env.client();
    await c.create('/fan', Buffer.from('0'));
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => void warnings.push(w);
    process.on('warning', onWarning);
    try {
      const heard = new Array<number>(50).fill(0);
      const all = await Promise.all(
        heard.map((_, i) => armed<WatchEvent>(`watcher ${i}`, (d) => c.get('/fan', (e) => ((heard[i] = (heard[i] ?? 0) + 1), d(e))))),
      );
      // A failed read sets no watch: this watcher must never hear of /fan.
      let stray = 0;
      await c.get('/fan/missing', () => stray++).catch(() => undefined);
      await other.set('/fan', Buffer.from('1'));
      for (const a of all) expect(await a.event).toEqual({ type: 'changed', path: '/fan' });
      await other.create('/fan/missing');
      await other.set('/fan/missing', Buffer.from('x'));
      await c.get('/fan');
      expect(heard.every((n) => n === 1)).toBe(true);
      expect(stray).toBe(0);
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('ensurePath, deleteRecursive and nested namespaces', async () => {
    const c = await env.client();
    await c.ensurePath('/x/y/z');
    await c.ensurePath('/x/y/z');
    const inner = c.namespace('/x');
    expect(await inner.children('/y')).toEqual(['z']);
    expect(inner.root).toBe(`${env.root()}/x`);
    await inner.create('/y/z/leaf');
    await c.deleteRecursive('/x/y');
    expect(await c.exists('/x/y')).toBeNull();
    await c.deleteRecursive('/x/y');
  });

  it('ACLs: digest auth guards a node', async () => {
    const owner = await env.client();
    owner.addAuth('digest', 'alice:secret');
    await owner.create('/private', Buffer.from('s'), { acl: [{ perms: 'cdrwa', scheme: 'auth', id: '' }] });
    const { acl } = await owner.getAcl('/private');
    expect(acl).toHaveLength(1);
    expect(acl[0]?.scheme).toBe('digest');
    expect(acl[0]?.perms).toBe('rwcda');
    const stranger = await env.client();
    expect(await codeOf(stranger.get('/private'))).toBe(ZkCode.NO_AUTH);
    expect((await owner.get('/private')).data.toString()).toBe('s');
    expect(await codeOf(owner.create('/bad', Buffer.alloc(0), { acl: [] }))).toBe(ZkCode.INVALID_ACL);
  });

  it('close ends the session at once: its ephemerals go and others see it', async () => {
    const c = await env.client();
    const watcher = await env.client();
    await c.create('/e', Buffer.alloc(0), { mode: 'ephemeral' });
    // The watcher's member may not have applied the create yet (another session, maybe another member):
    // a watch armed there before it would be an exists watch, fired by the create.
    await until('the watcher sees /e', async () => (await watcher.exists('/e')) !== null);
    const gone = (await armed<WatchEvent>('ephemeral deleted', (deliver) => watcher.exists('/e', deliver))).event;
    const states: StateChange[] = [];
    c.onState((s) => states.push(s));
    await c.close();
    expect(await gone).toEqual({ type: 'deleted', path: '/e' });
    expect(states.map((s) => s.state)).toEqual(['CLOSED']);
    expect(await codeOf(c.get('/'))).toBe('DROVER_CLOSED');
  });

  it('SUSPENDED then RECONNECTED keeps the session; LOST makes a new one', async () => {
    const { client, proxy } = await env.proxied({ sessionTimeoutMs: 2_000 });
    await client.create('/eph', Buffer.alloc(0), { mode: 'ephemeral' });
    const first = client.sessionId;
    const states: StateChange[] = [];
    client.onState((s) => states.push(s));

    const suspended = nextEvent<StateChange>('SUSPENDED', (d) => client.onState((s) => s.state === 'SUSPENDED' && d(s)));
    proxy.cut();
    await suspended;
    proxy.restore();
    const back = await nextEvent<StateChange>('RECONNECTED', (d) => client.onState((s) => s.state === 'RECONNECTED' && d(s)));
    expect(back.sessionChanged).toBe(false);
    expect(client.sessionId).toBe(first);
    expect(await client.exists('/eph')).not.toBeNull();

    const lost = nextEvent<StateChange>('LOST', (d) => client.onState((s) => s.state === 'LOST' && d(s)));
    const renewed = nextEvent<StateChange>('new session', (d) => client.onState((s) => s.state === 'RECONNECTED' && d(s)));
    proxy.cut();
    await lost;
    proxy.restore();
    expect((await renewed).sessionChanged).toBe(true);
    expect(client.sessionId).not.toBe(first);
    // The old session is over: its ephemeral is gone once the server expires it.
    const observer = await env.client();
    const expired = await armed<WatchEvent>('old ephemeral expired', async (d) => {
      if (!(await observer.exists('/eph', d))) d({ type: 'deleted', path: '/eph' });
    });
    expect(await expired.event).toEqual({ type: 'deleted', path: '/eph' });
    expect(states.map((s) => s.state)).toEqual(['SUSPENDED', 'RECONNECTED', 'SUSPENDED', 'LOST', 'RECONNECTED']);
  });

  it('fails to connect with a message that says what to do', async () => {
    const err = await connectCoordination({ connect: '127.0.0.1:1', connectTimeoutMs: 300 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DroverError);
    expect((err as DroverError).code).toBe('DROVER_NOT_CONNECTED');
    expect((err as Error).message).toMatch(/is a server running/);
    const bad = await connectCoordination({ connect: 'nonsense' }).catch((e: unknown) => e);
    expect((bad as DroverError).code).toBe('DROVER_INVALID_ARGUMENT');
  });
});
