/**
 * The conformance suite: written once, run against Apache ZooKeeper 3.8
 * (which proves the tests) and against Drover. Where they differ, Drover is
 * wrong. node-zookeeper-client drives what it can; RawClient sends the rest.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import net from 'node:net';
import { connect, failsWith, long, zookeeper, OPEN, type ZkCall } from '../helpers/zk-promise.ts';
import { RawClient, OPEN_ACL } from '../helpers/raw-client.ts';
import { fourLetter } from '../helpers/four-letter.ts';
import type { StartTarget, Target } from '../helpers/target.ts';
import type { Stat as WireStat, MultiResult, MultiReadRequest, Request, Response, WatcherEvent } from '../../coordinator/protocol/records.ts';
import { digestId } from '../../coordinator/acl/digest.ts';

const SUPER = 'super:D/InIHSb7yEEbrWz8b9l71RjZJU='; // password "test"
const TICK = 200;
const { ACL, Id, Permission, CreateMode } = zookeeper;

let counter = 0;
function root(): string {
  return `/t${process.pid}-${Date.now().toString(36)}-${counter++}`;
}

/**
 * From ZooKeeper 3.8.4 and 3.9.2 on, exists answers NoAuth for a node the
 * caller may not READ (ZOOKEEPER-2590); earlier releases return its Stat.
 * Debian's 3.8.0 did not take that fix (it did take ZOOKEEPER-4799, the watch
 * event filter, so every supported 3.8 build filters events alike). The suite
 * asks the server which it is (`srvr`); Drover reports, and behaves as, 3.8.4.
 */
function existsChecksRead(srvr: string): boolean {
  const m = /^Zookeeper version: (\d+)\.(\d+)\.(\d+)/m.exec(srvr);
  if (!m) throw new Error(`no version in srvr output: ${srvr}`);
  const [major, minor, patch] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (major !== 3) return major > 3;
  if (minor === 8) return patch >= 4;
  if (minor === 9) return patch >= 2;
  return minor > 9;
}

export function conformanceSuite(start: StartTarget): void {
  let target: Target;
  let zk: ZkCall;
  const raws: RawClient[] = [];
  const calls: ZkCall[] = [];

  async function raw(opts: Parameters<typeof RawClient.connect>[2] = {}): Promise<RawClient> {
    const c = await RawClient.connect(target.host, target.port, opts);
    raws.push(c);
    return c;
  }
  async function client(sessionTimeout = 10_000): Promise<ZkCall> {
    const c = await connect(target.connectString, { sessionTimeout });
    calls.push(c);
    return c;
  }

  beforeAll(async () => {
    target = await start({ tickTime: TICK, superDigest: SUPER, extendedTypesEnabled: true, containerCheckIntervalMs: 100 });
    zk = await client();
  }, 60_000);

  afterAll(async () => {
    for (const r of raws) r.close();
    for (const c of calls) c.close();
    await target?.stop();
  });

  describe('nodes and Stat', () => {
    it('creates, reads, updates and deletes with exact Stat fields', async () => {
      const r = root();
      await zk.create(r, Buffer.from('abc'));
      const { data, stat } = await zk.get(r);
      expect(data?.toString()).toBe('abc');
      expect(stat.version).toBe(0);
      expect(stat.cversion).toBe(0);
      expect(stat.aversion).toBe(0);
      expect(stat.dataLength).toBe(3);
      expect(stat.numChildren).toBe(0);
      expect(long(stat.ephemeralOwner)).toBe(0n);
      expect(long(stat.mzxid)).toBe(long(stat.czxid));
      expect(long(stat.pzxid)).toBe(long(stat.czxid));
      const s1 = await zk.set(r, Buffer.from('abc'));
      expect(s1.version).toBe(1); // identical data still bumps the version
      expect(long(s1.mzxid) > long(s1.czxid)).toBe(true);
      expect(long(s1.pzxid)).toBe(long(s1.czxid));
      expect(long(s1.mtime) >= long(s1.ctime)).toBe(true);
      await zk.remove(r, 1);
      expect(await zk.exists(r)).toBeNull();
    });

    it('null and empty data are kept apart', async () => {
      const r = root();
      await zk.create(r, null);
      expect((await zk.get(r)).data).toBeFalsy();
      await zk.set(r, Buffer.alloc(0));
      const { stat } = await zk.get(r);
      expect(stat.dataLength).toBe(0);
    });

    it('parent cversion and pzxid follow child creates and deletes (3 creates + 1 delete => cversion 4, next suffix 3)', async () => {
      const r = root();
      await zk.create(r);
      for (const c of ['a', 'b', 'c']) await zk.create(`${r}/${c}`);
      const before = (await zk.get(r)).stat;
      await zk.remove(`${r}/b`);
      const { stat } = await zk.get(r);
      expect(stat.cversion).toBe(4);
      expect(stat.numChildren).toBe(2);
      expect(stat.version).toBe(0);
      expect(long(stat.mzxid)).toBe(long(before.mzxid));
      expect(long(stat.pzxid) > long(before.pzxid)).toBe(true);
      expect(await zk.create(`${r}/s-`, null, CreateMode.PERSISTENT_SEQUENTIAL)).toBe(`${r}/s-0000000003`);
    });

    it('sequential names count every child creation; a trailing slash gets a bare suffix', async () => {
      const r = root();
      await zk.create(r);
      expect(await zk.create(`${r}/q-`, null, CreateMode.PERSISTENT_SEQUENTIAL)).toBe(`${r}/q-0000000000`);
      await zk.create(`${r}/plain`);
      expect(await zk.create(`${r}/q-`, null, CreateMode.EPHEMERAL_SEQUENTIAL)).toBe(`${r}/q-0000000002`);
      const c = await raw();
      const res = await c.request({ op: 1, path: `${r}/`, data: null, acl: OPEN_ACL, flags: 2 });
      expect(res.header.err).toBe(0);
      expect(res.response).toEqual({ op: 1, path: `${r}/0000000003` });
    });

    it('the initial tree holds /zookeeper with quota and config', async () => {
      const { children } = await zk.children('/');
      expect(children).toContain('zookeeper');
      expect((await zk.children('/zookeeper')).children.sort()).toEqual(['config', 'quota']);
      const rootStat = await zk.exists('/');
      expect(rootStat).not.toBeNull();
    });

    it('create2 returns the Stat; getChildren (8) and getChildren2 (12) list children', async () => {
      const r = root();
      const c = await raw();
      const created = await c.request({ op: 15, path: r, data: Buffer.from('x'), acl: OPEN_ACL, flags: 0 });
      expect(created.header.err).toBe(0);
      const body = created.response as { op: 15; path: string; stat: WireStat };
      expect(body.path).toBe(r);
      expect(body.stat.dataLength).toBe(1);
      expect(body.stat.czxid).toBe(created.header.zxid);
      await c.request({ op: 1, path: `${r}/k`, data: null, acl: OPEN_ACL, flags: 0 });
      const g8 = await c.request({ op: 8, path: r, watch: false });
      expect(g8.response).toEqual({ op: 8, children: ['k'] });
      const g12 = await c.request({ op: 12, path: r, watch: false });
      expect((g12.response as { children: string[]; stat: WireStat }).stat.numChildren).toBe(1);
    });

    it('replies keep request order when writes and reads are pipelined', async () => {
      const r = root();
      await zk.create(r, Buffer.from('0'));
      const c = await raw();
      const sent: Promise<{ header: { xid: number; err: number } }>[] = [];
      for (let i = 0; i < 30; i++) {
        sent.push(i % 3 === 0 ? c.request({ op: 5, path: r, data: Buffer.from(String(i)), version: -1 }) : c.request({ op: 4, path: r, watch: false }));
      }
      sent.push(c.request({ op: 9, path: r }));
      sent.push(c.request({ op: 3, path: r, watch: false }));
      const replies = await Promise.all(sent);
      // RawClient numbers xids from 1 in send order; each reply must carry its own.
      expect(replies.map((x) => x.header.xid)).toEqual(replies.map((_, i) => i + 1));
      expect(replies.every((x) => x.header.err === 0)).toBe(true);
    });

    it('getAllChildrenNumber, getEphemerals, whoAmI, sync', async () => {
      const r = root();
      const c = await raw();
      await c.request({ op: 1, path: r, data: null, acl: OPEN_ACL, flags: 0 });
      await c.request({ op: 1, path: `${r}/a`, data: null, acl: OPEN_ACL, flags: 0 });
      await c.request({ op: 1, path: `${r}/a/b`, data: null, acl: OPEN_ACL, flags: 0 });
      await c.request({ op: 1, path: `${r}/e1`, data: null, acl: OPEN_ACL, flags: 1 });
      await c.request({ op: 1, path: `${r}/e2`, data: null, acl: OPEN_ACL, flags: 1 });
      const all = await c.request({ op: 104, path: r });
      expect(all.response).toEqual({ op: 104, totalNumber: 4 });
      const eph = await c.request({ op: 103, prefixPath: r });
      expect((eph.response as { ephemerals: string[] }).ephemerals.sort()).toEqual([`${r}/e1`, `${r}/e2`]);
      const who = await c.request({ op: 107 });
      expect((who.response as { clientInfo: { authScheme: string; user: string }[] }).clientInfo).toContainEqual({ authScheme: 'ip', user: '127.0.0.1' });
      const sync = await c.request({ op: 9, path: r });
      expect(sync.header.err).toBe(0);
      expect(sync.response).toEqual({ op: 9, path: r });
    });

    it('multiRead returns per-op data, children and errors', async () => {
      const r = root();
      await zk.create(r, Buffer.from('d'));
      await zk.create(`${r}/c`);
      const c = await raw();
      const res = await c.request({ op: 22, ops: [{ op: 4, path: r, watch: false }, { op: 8, path: r, watch: false }, { op: 4, path: `${r}/none`, watch: false }] });
      expect(res.header.err).toBe(0);
      const results = (res.response as { results: MultiResult[] }).results;
      expect(results[0]).toMatchObject({ type: 4, data: Buffer.from('d') });
      expect(results[1]).toEqual({ type: 8, children: ['c'] });
      expect(results[2]).toEqual({ type: -1, err: -101 });
    });
  });

  describe('error paths', () => {
    it('NoNode, NodeExists, BadVersion, NotEmpty, NoChildrenForEphemerals', async () => {
      const r = root();
      expect(await failsWith(zk.get(`${r}/missing`))).toBe(-101);
      expect(await failsWith(zk.create(`${r}/a/b`))).toBe(-101);
      await zk.create(r);
      expect(await failsWith(zk.create(r))).toBe(-110);
      expect(await failsWith(zk.set(r, Buffer.from('x'), 3))).toBe(-103);
      expect(await failsWith(zk.remove(r, 7))).toBe(-103);
      await zk.create(`${r}/child`);
      expect(await failsWith(zk.remove(r))).toBe(-111);
      await zk.create(`${r}/eph`, null, CreateMode.EPHEMERAL);
      expect(await failsWith(zk.create(`${r}/eph/x`))).toBe(-108);
      expect(await failsWith(zk.remove(`${r}/missing`))).toBe(-101);
      expect(await failsWith(zk.set(`${r}/missing`, Buffer.from("w")))).toBe(-101);
    });

    it('bad paths: create checks the shape, the parent, then the full path; reads just look up', async () => {
      const r = root();
      await zk.create(r);
      const c = await raw();
      const badArgs = ['', 'a', '//a', '/.', '/..', '/a\u0000b', '/a\u0001', '/a\u007f', '/a\ud83d\ude00', '/a\ufff5', `${r}/`, `${r}/.`, `${r}/..`, `${r}/x\u0001`];
      for (const path of badArgs) {
        const res = await c.request({ op: 1, path, data: null, acl: OPEN_ACL, flags: 0 });
        expect(res.header.err, JSON.stringify(path)).toBe(-8);
      }
      // The parent is looked up before the full path is validated.
      for (const path of ['/a/', '/a//b', '/a/./b', `${r}//a`]) {
        const res = await c.request({ op: 1, path, data: null, acl: OPEN_ACL, flags: 0 });
        expect(res.header.err, JSON.stringify(path)).toBe(-101);
      }
      expect((await c.request({ op: 4, path: 'nope', watch: false })).header.err).toBe(-101);
      expect((await c.request({ op: 4, path: '', watch: false })).header.err).toBe(0);
      expect((await c.request({ op: 2, path: 'a', version: -1 })).header.err).toBe(-8);
      expect((await c.request({ op: 2, path: '/a\u0001', version: -1 })).header.err).toBe(-101);
    });

    it('system nodes cannot be deleted; bad create flags are BadArguments', async () => {
      const c = await raw();
      for (const path of ['/zookeeper', '/zookeeper/quota', '/zookeeper/config']) {
        expect((await c.request({ op: 2, path, version: -1 })).header.err, path).toBe(-8);
      }
      expect((await c.request({ op: 1, path: root(), data: null, acl: OPEN_ACL, flags: 9 })).header.err).toBe(-8);
    });

    it('TTL values out of range are BadArguments', async () => {
      const c = await raw();
      expect((await c.request({ op: 21, path: root(), data: null, acl: OPEN_ACL, flags: 5, ttl: 0 })).header.err).toBe(-8);
      expect((await c.request({ op: 21, path: root(), data: null, acl: OPEN_ACL, flags: 0, ttl: 100 })).header.err).toBe(-8);
    });
  });

  describe('multi', () => {
    it('applies all ops atomically and each op sees the earlier ones', async () => {
      const r = root();
      const c = await raw();
      const res = await c.request({
        op: 14,
        ops: [
          { op: 1, path: r, data: null, acl: OPEN_ACL, flags: 0 },
          { op: 1, path: `${r}/s-`, data: null, acl: OPEN_ACL, flags: 2 },
          { op: 1, path: `${r}/s-`, data: null, acl: OPEN_ACL, flags: 2 },
          { op: 5, path: r, data: Buffer.from('v'), version: 0 },
          { op: 13, path: r, version: 1 },
          { op: 2, path: `${r}/s-0000000000`, version: 0 },
        ],
      });
      expect(res.header.err).toBe(0);
      const results = (res.response as { results: MultiResult[] }).results;
      expect(results.map((x) => x.type)).toEqual([1, 1, 1, 5, 13, 2]);
      expect(results[2]).toEqual({ type: 1, path: `${r}/s-0000000001` });
      const { children } = await zk.children(r);
      expect(children).toEqual(['s-0000000001']);
      const all = await c.request({ op: 4, path: r, watch: false });
      // Every op of a multi shares one zxid.
      expect((all.response as { stat: WireStat }).stat.mzxid).toBe((all.response as { stat: WireStat }).stat.czxid);
    });

    it('a failing op applies nothing and reports per-op results', async () => {
      const r = root();
      await zk.create(r);
      const c = await raw();
      const res = await c.request({
        op: 14,
        ops: [
          { op: 1, path: `${r}/m1`, data: null, acl: OPEN_ACL, flags: 0 },
          { op: 2, path: `${r}/missing`, version: -1 },
          { op: 5, path: r, data: null, version: -1 },
        ],
      });
      expect(res.header.err).toBe(0);
      expect((res.response as { results: MultiResult[] }).results).toEqual([
        { type: -1, err: 0 },
        { type: -1, err: -101 },
        { type: -1, err: -2 },
      ]);
      expect(await zk.exists(`${r}/m1`)).toBeNull();
      expect((await zk.get(r)).stat.version).toBe(0);
    });

    it('node-zookeeper-client transactions succeed and fail as a whole', async () => {
      const r = root();
      await zk.create(r);
      const results = await new Promise<unknown[]>((res, rej) =>
        zk.client.transaction().create(`${r}/a`).setData(r, Buffer.from('x')).check(r, 1).commit((err, out) => (err ? rej(err) : res(out))),
      );
      expect(results).toHaveLength(3);
      const code = await new Promise<number | undefined>((res) =>
        zk.client.transaction().create(`${r}/b`).remove(`${r}/nope`).commit((err) => res((err as { code?: number } | null)?.code)),
      );
      expect(code).toBe(-101);
      expect(await zk.exists(`${r}/b`)).toBeNull();
    });
  });

  describe('watches', () => {
    it('exists on a missing node fires NodeCreated; getData fires DataChanged then Deleted', async () => {
      const r = root();
      const c = await raw();
      expect((await c.request({ op: 3, path: r, watch: true })).header.err).toBe(-101);
      await zk.create(r, Buffer.from('1'));
      expect(await c.nextEvent()).toEqual({ type: 1, state: 3, path: r });
      await c.request({ op: 4, path: r, watch: true });
      await zk.set(r, Buffer.from('2'));
      expect(await c.nextEvent()).toEqual({ type: 3, state: 3, path: r });
      await c.request({ op: 4, path: r, watch: true });
      await zk.remove(r);
      expect(await c.nextEvent()).toEqual({ type: 2, state: 3, path: r });
    });

    it('child watches fire on child create and delete, and on the node own delete', async () => {
      const r = root();
      await zk.create(r);
      const c = await raw();
      await c.request({ op: 12, path: r, watch: true });
      await zk.create(`${r}/x`);
      expect(await c.nextEvent()).toEqual({ type: 4, state: 3, path: r });
      await c.request({ op: 12, path: r, watch: true });
      await zk.remove(`${r}/x`);
      expect(await c.nextEvent()).toEqual({ type: 4, state: 3, path: r });
      await c.request({ op: 12, path: r, watch: true });
      await zk.remove(r);
      expect(await c.nextEvent()).toEqual({ type: 2, state: 3, path: r });
    });

    it('watches are one-shot, one event per connection, and arrive before later replies', async () => {
      const r = root();
      await zk.create(r);
      const c = await raw();
      await c.request({ op: 3, path: r, watch: true });
      await c.request({ op: 4, path: r, watch: true });
      await c.request({ op: 12, path: r, watch: true });
      await zk.set(r, Buffer.from('a'));
      await zk.set(r, Buffer.from('b'));
      // A read after the writes: any event for them must already be here.
      await c.request({ op: 4, path: r, watch: false });
      expect(c.drainEvents()).toEqual([{ type: 3, state: 3, path: r }]);
      await c.request({ op: 12, path: r, watch: true });
      await zk.remove(r);
      await c.request({ op: 3, path: r, watch: false });
      expect(c.drainEvents()).toEqual([{ type: 2, state: 3, path: r }]);
    });

    it('setACL, check and sync fire nothing; NoNode on getData/getChildren sets no watch', async () => {
      const r = root();
      await zk.create(r);
      const c = await raw();
      await c.request({ op: 4, path: r, watch: true });
      await c.request({ op: 4, path: `${r}/nope`, watch: true });
      await c.request({ op: 12, path: `${r}/nope`, watch: true });
      await zk.setACL(r, OPEN);
      await zk.create(`${r}/nope`);
      await c.request({ op: 9, path: r });
      await c.request({ op: 4, path: r, watch: false });
      expect(c.drainEvents()).toEqual([]);
    });

    it('persistent watches (addWatch mode 0) keep firing for the node and its children list', async () => {
      const r = root();
      await zk.create(r);
      const c = await raw();
      const add = await c.request({ op: 106, path: r, mode: 0 });
      expect(add.header.err).toBe(0);
      await zk.set(r, Buffer.from('1'));
      await zk.create(`${r}/k`);
      await zk.set(`${r}/k`, Buffer.from('2'));
      await zk.set(r, Buffer.from('3'));
      await c.request({ op: 4, path: r, watch: false });
      expect(c.drainEvents()).toEqual([
        { type: 3, state: 3, path: r },
        { type: 4, state: 3, path: r },
        { type: 3, state: 3, path: r },
      ]);
    });

    it('persistent-recursive watches see every descendant but no ChildrenChanged', async () => {
      const r = root();
      await zk.create(r);
      const c = await raw();
      await c.request({ op: 106, path: r, mode: 1 });
      await zk.create(`${r}/a`);
      await zk.create(`${r}/a/b`);
      await zk.set(`${r}/a/b`, Buffer.from('x'));
      await zk.remove(`${r}/a/b`);
      await c.request({ op: 4, path: r, watch: false });
      expect(c.drainEvents()).toEqual([
        { type: 1, state: 3, path: `${r}/a` },
        { type: 1, state: 3, path: `${r}/a/b` },
        { type: 3, state: 3, path: `${r}/a/b` },
        { type: 2, state: 3, path: `${r}/a/b` },
      ]);
    });

    it('checkWatches and removeWatches find, remove, or answer NoWatcher', async () => {
      const r = root();
      await zk.create(r);
      const c = await raw();
      expect((await c.request({ op: 17, path: r, type: 2 })).header.err).toBe(-121);
      await c.request({ op: 4, path: r, watch: true });
      expect((await c.request({ op: 17, path: r, type: 2 })).header.err).toBe(0);
      expect((await c.request({ op: 17, path: r, type: 1 })).header.err).toBe(-121);
      expect((await c.request({ op: 18, path: r, type: 3 })).header.err).toBe(0);
      await zk.set(r, Buffer.from('x'));
      await c.request({ op: 4, path: r, watch: false });
      expect(c.drainEvents()).toEqual([]);
      expect((await c.request({ op: 18, path: r, type: 3 })).header.err).toBe(-121);
    });

    it('setWatches re-arms watches and fires what changed after relativeZxid', async () => {
      const r = root();
      await zk.create(r);
      await zk.create(`${r}/same`);
      await zk.create(`${r}/gone`);
      const marker = await zk.create(`${r}/marker`);
      const rel = long((await zk.exists(marker))!.czxid);
      await zk.set(r, Buffer.from('changed'));
      await zk.remove(`${r}/gone`);
      await zk.create(`${r}/born`);
      const c = await raw();
      const res = await c.request({
        op: 101,
        relativeZxid: Number(rel),
        dataWatches: [r, `${r}/same`, `${r}/gone`],
        existWatches: [`${r}/born`, `${r}/unborn`],
        childWatches: [r, `${r}/same`],
        persistentWatches: [],
        persistentRecursiveWatches: [],
      });
      expect(res.header.err).toBe(0);
      const now = c.drainEvents();
      expect(now).toEqual(
        expect.arrayContaining([
          { type: 3, state: 3, path: r },
          { type: 2, state: 3, path: `${r}/gone` },
          { type: 1, state: 3, path: `${r}/born` },
          { type: 4, state: 3, path: r },
        ]),
      );
      expect(now).toHaveLength(4);
      await zk.set(`${r}/same`, Buffer.from('x'));
      expect(await c.nextEvent()).toEqual({ type: 3, state: 3, path: `${r}/same` });
      await zk.create(`${r}/unborn`);
      expect(await c.nextEvent()).toEqual({ type: 1, state: 3, path: `${r}/unborn` });
    });

    it('node-zookeeper-client re-arms its watches after a dropped connection', async () => {
      const r = root();
      await zk.create(r);
      const w = await client();
      let fire!: (name: string) => void;
      const fired = new Promise<string>((resolve) => (fire = resolve));
      await w.get(r, (e) => fire(e.getName()));
      const reconnected = new Promise<void>((resolve) => w.client.once('connected', () => resolve()));
      // Drop the TCP connection under the client; it reconnects with setWatches.
      (w.client as unknown as { connectionManager: { socket: net.Socket } }).connectionManager.socket.destroy();
      await reconnected;
      await zk.set(r, Buffer.from('after'));
      expect(await fired).toBe('NODE_DATA_CHANGED');
    });
  });

  describe('ACLs', () => {
    it('digest ACLs need the matching addauth', async () => {
      const r = root();
      const owner = await client();
      owner.addAuth('digest', 'alice:secret');
      await owner.create(r, Buffer.from('x'), CreateMode.PERSISTENT, [new ACL(Permission.ALL, new Id('digest', digestId('alice', 'secret')))]);
      expect((await owner.get(r)).data?.toString()).toBe('x');
      const stranger = await client();
      expect(await failsWith(stranger.get(r))).toBe(-102);
      expect(await failsWith(stranger.set(r, Buffer.from("w")))).toBe(-102);
      stranger.addAuth('digest', 'alice:wrong');
      expect(await failsWith(stranger.get(r))).toBe(-102);
      stranger.addAuth('digest', 'alice:secret');
      expect((await stranger.get(r)).data?.toString()).toBe('x');
    });

    it('the auth scheme expands to the caller ids, and without addauth is InvalidACL', async () => {
      const r = root();
      const anon = await client();
      expect(await failsWith(anon.create(r, null, CreateMode.PERSISTENT, [new ACL(Permission.ALL, new Id('auth', ''))]))).toBe(-114);
      const bob = await client();
      bob.addAuth('digest', 'bob:pw');
      await bob.create(r, null, CreateMode.PERSISTENT, [new ACL(Permission.ALL, new Id('auth', ''))]);
      const { acl } = await bob.getACL(r);
      expect(acl.map((a) => [(a as unknown as { permission: number }).permission, a.id.scheme, a.id.id])).toEqual([[31, 'digest', digestId('bob', 'pw')]]);
    });

    it('malformed ACLs are InvalidACL', async () => {
      const c = await raw();
      for (const acl of [[], [{ perms: 31, id: { scheme: 'world', id: 'someone' } }], [{ perms: 31, id: { scheme: 'nope', id: 'x' } }], [{ perms: 31, id: { scheme: 'ip', id: '1.2.3' } }], [{ perms: 31, id: { scheme: 'digest', id: 'nocolon' } }]]) {
        expect((await c.request({ op: 1, path: root(), data: null, acl, flags: 0 })).header.err, JSON.stringify(acl)).toBe(-114);
      }
    });

    it('ip ACLs match the peer address, with CIDR prefixes', async () => {
      const r = root();
      await zk.create(r);
      await zk.create(`${r}/local`, Buffer.from('l'), CreateMode.PERSISTENT, [new ACL(Permission.READ, new Id('ip', '127.0.0.1'))]);
      await zk.create(`${r}/net8`, Buffer.from('n'), CreateMode.PERSISTENT, [new ACL(Permission.READ, new Id('ip', '127.0.0.0/8'))]);
      await zk.create(`${r}/other`, Buffer.from('o'), CreateMode.PERSISTENT, [new ACL(Permission.READ, new Id('ip', '10.0.0.0/8'))]);
      expect((await zk.get(`${r}/local`)).data?.toString()).toBe('l');
      expect((await zk.get(`${r}/net8`)).data?.toString()).toBe('n');
      expect(await failsWith(zk.get(`${r}/other`))).toBe(-102);
      // READ only: writing is refused.
      expect(await failsWith(zk.set(`${r}/local`, Buffer.from("w")))).toBe(-102);
    });

    it('per-operation permissions: CREATE and DELETE on the parent, ADMIN for setACL, aversion', async () => {
      const r = root();
      await zk.create(r, null, CreateMode.PERSISTENT, [new ACL(Permission.READ | Permission.WRITE, new Id('world', 'anyone'))]);
      expect(await failsWith(zk.create(`${r}/c`))).toBe(-102);
      expect(await failsWith(zk.setACL(r, OPEN))).toBe(-102);
      await zk.set(r, Buffer.from('w'));
      const r2 = root();
      await zk.create(r2, null, CreateMode.PERSISTENT, [new ACL(Permission.ALL, new Id('world', 'anyone'))]);
      await zk.create(`${r2}/c`);
      const s = await zk.setACL(r2, [new ACL(Permission.READ | Permission.ADMIN | Permission.CREATE, new Id('world', 'anyone'))], 0);
      expect(s.aversion).toBe(1);
      expect(await failsWith(zk.setACL(r2, OPEN, 0))).toBe(-103);
      expect(await failsWith(zk.remove(`${r2}/c`))).toBe(-102);
    });

    it('the super digest bypasses every ACL', async () => {
      const r = root();
      await zk.create(r, Buffer.from('s'), CreateMode.PERSISTENT, [new ACL(Permission.ALL, new Id('digest', digestId('nobody', 'x')))]);
      const admin = await client();
      admin.addAuth('digest', 'super:test');
      expect((await admin.get(r)).data?.toString()).toBe('s');
      await admin.remove(r);
    });
  });

  describe('reads on a node whose ACL denies READ', () => {
    // /locked and its child are readable by alice only; /adminonly lets anyone ADMIN but not READ;
    // /masked lets anyone READ but only alice ADMIN. "stranger" holds no digest id.
    const ALICE = digestId('alice', 'secret');
    const ALICE_ALL = [{ perms: 31, id: { scheme: 'digest', id: ALICE } }];
    let r: string;
    let locked: string;
    let alice: RawClient;
    let stranger: RawClient;
    /** Whether this server's exists checks READ (ZOOKEEPER-2590): see existsChecksRead. */
    let existsGuarded: boolean;

    async function authed(user: string, pw: string): Promise<RawClient> {
      const c = await raw();
      expect((await c.request({ op: 100, type: 0, scheme: 'digest', auth: Buffer.from(`${user}:${pw}`) }, -4)).header.err).toBe(0);
      return c;
    }
    async function ok(c: RawClient, req: Request): Promise<Response | null> {
      const res = await c.request(req);
      expect(res.header.err, JSON.stringify(req)).toBe(0);
      return res.response;
    }
    async function err(c: RawClient, req: Request): Promise<number> {
      return (await c.request(req)).header.err;
    }
    /** A reply after a write's reply: any event that write caused this connection is here by now. */
    async function eventsSoFar(c: RawClient): Promise<WatcherEvent[]> {
      await c.request({ op: 3, path: '/', watch: false });
      return c.drainEvents();
    }

    beforeAll(async () => {
      existsGuarded = existsChecksRead(await fourLetter(target.host, target.port, 'srvr'));
      r = root();
      locked = `${r}/locked`;
      alice = await authed('alice', 'secret');
      stranger = await raw();
      await ok(alice, { op: 1, path: r, data: null, acl: OPEN_ACL, flags: 0 });
      await ok(alice, { op: 1, path: locked, data: Buffer.from('x'), acl: ALICE_ALL, flags: 0 });
      await ok(alice, { op: 1, path: `${locked}/k`, data: null, acl: ALICE_ALL, flags: 0 });
      await ok(alice, { op: 1, path: `${r}/adminonly`, data: null, acl: [{ perms: 16, id: { scheme: 'world', id: 'anyone' } }], flags: 0 });
      await ok(alice, { op: 1, path: `${r}/masked`, data: Buffer.from('m'), acl: [{ perms: 1, id: { scheme: 'world', id: 'anyone' } }, ...ALICE_ALL], flags: 0 });
    });

    it('exists: Stat before ZooKeeper 3.8.4, NoAuth (and no watch) from 3.8.4; NoNode below a locked node', async () => {
      const mine = (await ok(alice, { op: 3, path: locked, watch: false })) as { stat: WireStat };
      const res = await stranger.request({ op: 3, path: locked, watch: true });
      if (existsGuarded) {
        expect(res.header.err).toBe(-102);
        expect(await err(stranger, { op: 17, path: locked, type: 2 })).toBe(-121);
      } else {
        expect(res.header.err).toBe(0);
        expect(res.response).toEqual({ op: 3, stat: mine.stat });
        expect(await err(stranger, { op: 18, path: locked, type: 2 })).toBe(0);
      }
      // A missing node is NoNode whatever its parent's ACL says, and the watch for its creation is set.
      expect(await err(stranger, { op: 3, path: `${locked}/none`, watch: true })).toBe(-101);
      expect(await err(stranger, { op: 18, path: `${locked}/none`, type: 2 })).toBe(0);
    });

    it('getData: NoAuth without READ, and no watch is left behind', async () => {
      expect(await err(stranger, { op: 4, path: locked, watch: true })).toBe(-102);
      expect(await err(stranger, { op: 17, path: locked, type: 3 })).toBe(-121);
      expect(await ok(alice, { op: 4, path: locked, watch: false })).toMatchObject({ op: 4, data: Buffer.from('x') });
    });

    it('getChildren (8) and getChildren2 (12): NoAuth on the node itself, no watch left', async () => {
      expect(await err(stranger, { op: 8, path: locked, watch: true })).toBe(-102);
      expect(await err(stranger, { op: 12, path: locked, watch: true })).toBe(-102);
      expect(await err(stranger, { op: 17, path: locked, type: 3 })).toBe(-121);
      expect(await ok(alice, { op: 8, path: locked, watch: false })).toEqual({ op: 8, children: ['k'] });
      expect(await ok(alice, { op: 12, path: locked, watch: false })).toMatchObject({ op: 12, children: ['k'] });
      // READ on the parent is enough to list a locked child's name.
      expect(((await ok(stranger, { op: 8, path: r, watch: false })) as { children: string[] }).children.sort()).toEqual(['adminonly', 'locked', 'masked']);
    });

    it('getAllChildrenNumber: READ on the node, descendants counted whatever their ACLs', async () => {
      expect(await err(stranger, { op: 104, path: locked })).toBe(-102);
      expect(await ok(alice, { op: 104, path: locked })).toEqual({ op: 104, totalNumber: 1 });
      expect(await ok(stranger, { op: 104, path: r })).toEqual({ op: 104, totalNumber: 4 });
    });

    it('getACL: READ or ADMIN; without ADMIN digest ids are masked', async () => {
      expect(await err(stranger, { op: 6, path: locked })).toBe(-102);
      expect(await ok(alice, { op: 6, path: locked })).toMatchObject({ op: 6, acl: ALICE_ALL });
      // ADMIN without READ is enough, and shows the ACL unmasked.
      expect(await ok(stranger, { op: 6, path: `${r}/adminonly` })).toMatchObject({ op: 6, acl: [{ perms: 16, id: { scheme: 'world', id: 'anyone' } }] });
      expect(await ok(stranger, { op: 6, path: `${r}/masked` })).toMatchObject({
        op: 6,
        acl: [{ perms: 1, id: { scheme: 'world', id: 'anyone' } }, { perms: 31, id: { scheme: 'digest', id: 'alice:x' } }],
      });
      expect(await ok(alice, { op: 6, path: `${r}/masked` })).toMatchObject({ acl: [{ perms: 1, id: { scheme: 'world', id: 'anyone' } }, ...ALICE_ALL] });
    });

    it('getEphemerals: no ACL check; the caller sees its own ephemerals whatever their ACLs', async () => {
      const c = await raw();
      await ok(c, { op: 1, path: `${r}/eph`, data: null, acl: ALICE_ALL, flags: 1 });
      expect(await err(c, { op: 4, path: `${r}/eph`, watch: false })).toBe(-102);
      expect(await ok(c, { op: 103, prefixPath: r })).toEqual({ op: 103, ephemerals: [`${r}/eph`] });
      expect(await ok(alice, { op: 103, prefixPath: r })).toEqual({ op: 103, ephemerals: [] });
      await c.request({ op: -11 }); // close the session now: its ephemeral must not outlive the test
      c.close();
    });

    it('multiRead: each sub-op is checked on its own', async () => {
      const ops: MultiReadRequest['ops'] = [
        { op: 4, path: locked, watch: false },
        { op: 8, path: locked, watch: false },
        { op: 4, path: `${r}/masked`, watch: false },
      ];
      const denied = (await ok(stranger, { op: 22, ops })) as { results: MultiResult[] };
      expect(denied.results[0]).toEqual({ type: -1, err: -102 });
      expect(denied.results[1]).toEqual({ type: -1, err: -102 });
      expect(denied.results[2]).toMatchObject({ type: 4, data: Buffer.from('m') });
      const allowed = (await ok(alice, { op: 22, ops })) as { results: MultiResult[] };
      expect(allowed.results[0]).toMatchObject({ type: 4, data: Buffer.from('x') });
      expect(allowed.results[1]).toEqual({ type: 8, children: ['k'] });
    });

    it('addWatch, checkWatches and removeWatches: no ACL check', async () => {
      const c = await raw();
      expect(await ok(c, { op: 106, path: locked, mode: 0 })).toEqual({ op: 106 });
      expect(await err(c, { op: 17, path: locked, type: 3 })).toBe(0);
      expect(await err(c, { op: 18, path: locked, type: 3 })).toBe(0);
      expect(await err(c, { op: 18, path: locked, type: 3 })).toBe(-121);
      c.close();
    });

    it('watch events are sent only to connections that may READ the node they name (CVE-2024-23944)', async () => {
      const c = await raw();
      const a = await authed('alice', 'secret');
      await ok(c, { op: 106, path: locked, mode: 0 });
      await ok(c, { op: 106, path: r, mode: 1 });
      await ok(a, { op: 106, path: locked, mode: 0 });
      await ok(alice, { op: 5, path: locked, data: Buffer.from('y'), version: -1 });
      await ok(alice, { op: 1, path: `${r}/open`, data: null, acl: OPEN_ACL, flags: 0 });
      await ok(alice, { op: 1, path: `${locked}/k2`, data: null, acl: ALICE_ALL, flags: 0 });
      const open = { type: 1, state: 3, path: `${r}/open` };
      const lockedEvents = [
        { type: 3, state: 3, path: locked },
        { type: 4, state: 3, path: locked },
      ];
      // The node's ACL decides (the parent's for ChildrenChanged): the created child is open, the rest is alice's.
      expect(await eventsSoFar(c)).toEqual([open]);
      expect(await eventsSoFar(a)).toEqual(lockedEvents);
      // A delete is judged by the deleted node's ACL.
      await ok(alice, { op: 2, path: `${locked}/k2`, version: -1 });
      await ok(alice, { op: 2, path: `${r}/open`, version: -1 });
      expect(await eventsSoFar(c)).toEqual([{ type: 2, state: 3, path: `${r}/open` }]);
      expect(await eventsSoFar(a)).toEqual([lockedEvents[1]]);
      // A one-shot watch whose event is dropped is used up all the same.
      const d = await raw();
      expect(await err(d, { op: 3, path: `${r}/later`, watch: true })).toBe(-101);
      await ok(alice, { op: 1, path: `${r}/later`, data: null, acl: ALICE_ALL, flags: 0 });
      expect(await eventsSoFar(d)).toEqual([]);
      expect(await err(d, { op: 17, path: `${r}/later`, type: 2 })).toBe(-121);
      d.close();
      c.close();
      a.close();
    });

    it('setWatches: no ACL check; what fires at once is sent unfiltered, later events are filtered as for any watch', async () => {
      const rel = (await alice.request({ op: 3, path: locked, watch: false })).header.zxid;
      await ok(alice, { op: 5, path: locked, data: Buffer.from('z'), version: -1 });
      const c = await raw();
      const res = await c.request({
        op: 101,
        relativeZxid: rel,
        dataWatches: [locked],
        existWatches: [`${locked}/k`],
        childWatches: [locked],
        persistentWatches: [],
        persistentRecursiveWatches: [],
      });
      expect(res.header.err).toBe(0);
      expect(c.drainEvents()).toEqual([
        { type: 3, state: 3, path: locked },
        { type: 1, state: 3, path: `${locked}/k` },
      ]);
      expect(await err(c, { op: 17, path: locked, type: 1 })).toBe(0);
      await ok(alice, { op: 1, path: `${locked}/k3`, data: null, acl: OPEN_ACL, flags: 0 });
      expect(await eventsSoFar(c)).toEqual([]);
      c.close();
    });
  });

  describe('sessions', () => {
    it('ephemerals carry the session id and vanish on close, firing other sessions watches', async () => {
      const r = root();
      await zk.create(r);
      const owner = await raw();
      await owner.request({ op: 1, path: `${r}/e`, data: null, acl: OPEN_ACL, flags: 1 });
      const stat = await zk.exists(`${r}/e`);
      expect(long(stat!.ephemeralOwner)).toBe(owner.session.sessionId);
      const watcher = await raw();
      await watcher.request({ op: 3, path: `${r}/e`, watch: true });
      const close = await owner.request({ op: -11 });
      expect(close.header.err).toBe(0);
      expect(await watcher.nextEvent()).toEqual({ type: 2, state: 3, path: `${r}/e` });
      expect(await zk.exists(`${r}/e`)).toBeNull();
    });

    it('an expired session loses its ephemerals and others see NodeDeleted', async () => {
      const r = root();
      await zk.create(r);
      const doomed = await raw({ timeoutMs: 2 * TICK });
      expect(doomed.session.timeOut).toBe(2 * TICK);
      await doomed.request({ op: 1, path: `${r}/e`, data: null, acl: OPEN_ACL, flags: 1 });
      const watcher = await raw();
      await watcher.request({ op: 4, path: `${r}/e`, watch: true });
      // RawClient never pings: the session expires after its timeout.
      expect(await watcher.nextEvent(10_000)).toEqual({ type: 2, state: 3, path: `${r}/e` });
      await doomed.closed;
      const again = await raw({ sessionId: doomed.session.sessionId, passwd: doomed.session.passwd });
      expect(again.session.timeOut).toBe(0);
      expect(again.session.sessionId).toBe(0n);
    });

    it('negotiates the timeout into [2, 20] ticks', async () => {
      expect((await raw({ timeoutMs: 1 })).session.timeOut).toBe(2 * TICK);
      expect((await raw({ timeoutMs: 1_000_000 })).session.timeOut).toBe(20 * TICK);
    });

    it('reconnecting with id and password keeps the session and its ephemerals; a wrong password is refused', async () => {
      const r = root();
      const first = await raw({ timeoutMs: 4000 });
      await first.request({ op: 1, path: r, data: null, acl: OPEN_ACL, flags: 1 });
      const second = await raw({ sessionId: first.session.sessionId, passwd: first.session.passwd, timeoutMs: 4000 });
      expect(second.session.sessionId).toBe(first.session.sessionId);
      expect(second.session.timeOut).toBeGreaterThan(0);
      expect((await second.request({ op: 3, path: r, watch: false })).header.err).toBe(0);
      const bad = Buffer.from(first.session.passwd);
      bad[0] = (bad[0] ?? 0) ^ 0xff;
      const refused = await raw({ sessionId: first.session.sessionId, passwd: bad });
      expect(refused.session.timeOut).toBe(0);
      await refused.closed;
      second.close();
    });

    it('a client that has seen a later zxid than the server is turned away', async () => {
      await expect(raw({ lastZxidSeen: 2 ** 40 })).rejects.toThrow(/closed during handshake/);
      expect(await zk.exists('/')).not.toBeNull();
    });

    it('answers the readOnly byte only when the client sent it', async () => {
      const with45 = await raw({ readOnly: false });
      expect(with45.session.readOnly).toBe(false);
      const with44 = await raw({ readOnly: undefined });
      expect(with44.session.readOnly).toBeUndefined();
    });
  });

  describe('containers and TTL nodes', () => {
    it('a container is removed after its last child goes', async () => {
      const r = root();
      const c = await raw();
      const created = await c.request({ op: 19, path: r, data: null, acl: OPEN_ACL, flags: 4 });
      expect(created.header.err).toBe(0);
      // The container marker stays inside the server: clients see ephemeralOwner 0.
      expect((created.response as { stat: WireStat }).stat.ephemeralOwner).toBe(0n);
      await zk.create(`${r}/child`);
      await c.request({ op: 3, path: r, watch: true });
      await zk.remove(`${r}/child`);
      expect(await c.nextEvent(10_000)).toEqual({ type: 2, state: 3, path: r });
    });

    it('a TTL node is removed once its TTL has passed without changes', async () => {
      const r = root();
      const c = await raw();
      const created = await c.request({ op: 21, path: r, data: null, acl: OPEN_ACL, flags: 5, ttl: 300 });
      expect(created.header.err).toBe(0);
      await c.request({ op: 3, path: r, watch: true });
      expect(await c.nextEvent(10_000)).toEqual({ type: 2, state: 3, path: r });
    });
  });

  describe('four-letter words', () => {
    const word = (cmd: string): Promise<string> => fourLetter(target.host, target.port, cmd);

    it('ruok, isro, srvr, stat', async () => {
      expect(await word('ruok')).toBe('imok');
      expect(await word('isro')).toBe('rw');
      const srvr = await word('srvr');
      expect(srvr).toMatch(/^Zookeeper version: \d+\.\d+\.\d+-/);
      expect(srvr).toMatch(/^Mode: (standalone|leader|follower)$/m);
      for (const k of ['Latency min/avg/max: ', 'Received: ', 'Sent: ', 'Connections: ', 'Outstanding: ', 'Zxid: 0x', 'Node count: ']) {
        expect(srvr).toContain(k);
      }
      const stat = await word('stat');
      expect(stat).toContain('Clients:\n');
      expect(stat).toMatch(/ \/127\.0\.0\.1:\d+\[\d+\]\(queued=\d+,recved=\d+,sent=\d+\)/);
    });

    it('mntr, conf, cons, envi, wchs, dump', async () => {
      const mntr = await word('mntr');
      expect(mntr).toMatch(/^zk_version\t/m);
      expect(mntr).toMatch(/^zk_server_state\t(standalone|leader|follower)$/m);
      expect(mntr).toMatch(/^zk_znode_count\t\d+$/m);
      expect(mntr).toMatch(/^zk_num_alive_connections\t\d+$/m);
      expect(await word('conf')).toMatch(/^clientPort=\d+$/m);
      expect(await word('cons')).toMatch(/sid=0x[0-9a-f]+/);
      const envi = await word('envi');
      expect(envi).toMatch(/^Environment:\nzookeeper\.version=/);
      expect(await word('wchs')).toMatch(/^\d+ connections watching \d+ paths\nTotal watches:\d+\n$/);
      expect(await word('dump')).toMatch(/^SessionTracker dump:\n/);
    });
  });

  describe('bad input', () => {
    it('data up to the frame limit is accepted; a larger frame closes the connection only', async () => {
      const r = root();
      const c = await raw();
      const ok = await c.request({ op: 1, path: r, data: Buffer.alloc(1_000_000, 1), acl: OPEN_ACL, flags: 0 });
      expect(ok.header.err).toBe(0);
      const big = await raw();
      big.request({ op: 5, path: r, data: Buffer.alloc(1_100_000, 2), version: -1 }).catch(() => undefined);
      await big.closed;
      expect((await zk.get(r)).stat.dataLength).toBe(1_000_000);
    });

    it('an unknown opcode gets Unimplemented and the connection is closed', async () => {
      const c = await raw();
      const frame = Buffer.alloc(12);
      frame.writeInt32BE(8, 0);
      frame.writeInt32BE(77, 4);
      frame.writeInt32BE(999, 8);
      const reply = new Promise<Buffer>((resolve) => c.socket.once('data', resolve));
      c.sendRaw(frame);
      const bytes = await reply;
      expect(bytes.readInt32BE(4)).toBe(77);
      expect(bytes.readInt32BE(16)).toBe(-6);
      await c.closed;
      expect(await zk.exists('/')).not.toBeNull();
    });

    it('a malformed frame closes that connection and others keep working', async () => {
      const c = await raw();
      const frame = Buffer.alloc(16);
      frame.writeInt32BE(12, 0);
      frame.writeInt32BE(5, 4);
      frame.writeInt32BE(1, 8); // create, with a path length that runs off the end
      frame.writeInt32BE(1000, 12);
      c.sendRaw(frame);
      await c.closed;
      expect(await zk.exists('/')).not.toBeNull();
    });
  });
}
