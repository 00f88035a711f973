/**
 * Snapshots in an ensemble, over real TCP: three in-process members with a
 * small snapCount. A follower is stopped while the others write far past
 * what their compacted logs keep; restarted, it must catch up by SNAP (the
 * leader says so in its log) and then serve exactly what the others serve.
 * Then every member restarts from its own snapshots and the data is still
 * identical, and writes go on.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { RawClient } from '../helpers/raw-client.ts';
import { connect, type ZkCall } from '../helpers/zk-promise.ts';
import { configureMembers, connectStringOf, removeMembers, settle, snapshotFiles, startMember, stopMember, type Member } from '../helpers/ensemble-members.ts';

const SNAP_COUNT = 40;

/** Every znode under `/d` with its data and the stat fields every member must agree on. */
async function dump(m: Member): Promise<Map<string, string>> {
  // sync first: this member has applied everything committed before it answers.
  const raw = await RawClient.connect('127.0.0.1', m.config.clientPort);
  expect((await raw.request({ op: 9, path: '/' })).header.err).toBe(0);
  raw.close();
  const c = await connect(`127.0.0.1:${m.config.clientPort}`);
  const out = new Map<string, string>();
  const todo = ['/d'];
  for (let p = todo.pop(); p !== undefined; p = todo.pop()) {
    const [{ data, stat }, { children }] = await Promise.all([c.get(p), c.children(p)]);
    const fields = [stat.czxid, stat.mzxid, stat.pzxid].map((b) => Buffer.from(b as unknown as Buffer).toString('hex'));
    out.set(p, `${data?.toString() ?? ''}|${stat.version}|${stat.cversion}|${stat.numChildren}|${fields.join(',')}`);
    for (const child of children) todo.push(`${p}/${child}`);
  }
  c.close();
  return out;
}

async function writeMany(c: ZkCall, from: number, count: number): Promise<void> {
  const BATCH = 50;
  for (let i = from; i < from + count; i += BATCH) {
    const batch: Promise<unknown>[] = [];
    for (let k = i; k < Math.min(i + BATCH, from + count); k++) {
      // Creates and overwrites and deletes, so the snapshot carries versions and holes.
      batch.push(
        (async () => {
          await c.create(`/d/n${k}`, Buffer.from(`v${k}`));
          if (k % 3 === 0) await c.set(`/d/n${k}`, Buffer.from(`w${k}`));
          else if (k % 7 === 0) await c.remove(`/d/n${k}`);
        })(),
      );
    }
    await Promise.all(batch);
  }
}

describe('a 3-member ensemble with snapshots', () => {
  let members: Member[] = [];
  afterAll(() => removeMembers(members));

  it('brings a follower that missed more than the logs keep back by SNAP, then serves identical data', async () => {
    members = await configureMembers(3, { snapCount: SNAP_COUNT });
    await Promise.all(members.map(startMember));
    const leader = await settle(members);
    const connectString = connectStringOf(members);

    let c = await connect(connectString);
    await c.create('/d');
    await writeMany(c, 0, 100);
    const lagging = members.find((m) => m !== leader) as Member;
    await stopMember(lagging);

    // Far more than the 3 retained snapshots' worth of log.
    await writeMany(c, 100, 1200);
    expect((await snapshotFiles(leader)).length).toBeGreaterThan(0);
    await startMember(lagging);
    const leaderNow = await settle(members);
    const synced = leaderNow.lines.filter((l) => l.follower === lagging.id && l.mode);
    expect(synced.map((l) => l.mode)).toContain('SNAP');
    expect(lagging.lines.some((l) => l.msg === "installed the leader's snapshot (SNAP)")).toBe(true);

    // Writes go on, and the caught-up member serves what the others serve.
    await writeMany(c, 1300, 100);
    const expected = await dump(leaderNow);
    expect(expected.size).toBeGreaterThan(1000);
    for (const m of members) expect(await dump(m), `member ${m.id}`).toEqual(expected);
    c.close();

    // Every member restarts from its own snapshots (and what its log holds above them).
    for (const m of members) expect((await snapshotFiles(m)).length, `member ${m.id} snapshots`).toBeGreaterThan(0);
    await Promise.all(members.map(stopMember));
    await Promise.all(members.map(startMember));
    const third = await settle(members);
    for (const m of members) expect(await dump(m), `member ${m.id} after restart`).toEqual(expected);
    c = await connect(connectString);
    await writeMany(c, 1400, 50);
    c.close();
    const after = await dump(third);
    expect(after.size).toBeGreaterThan(expected.size);
    for (const m of members) expect(await dump(m), `member ${m.id} after more writes`).toEqual(after);
  }, 120_000);
});
