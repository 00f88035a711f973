/**
 * Snapshots in an ensemble, over real TCP: three in-process members with a
 * small snapCount. A follower is stopped while the others write far past
 * what their compacted logs keep; restarted, it must catch up by SNAP (the
 * leader says so in its log) and then serve exactly what the others serve.
 * Then every member restarts from its own snapshots and the data is still
 * identical, and writes go on.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino, type Logger } from 'pino';
import { defaultConfig } from '../../coordinator/index.ts';
import type { MemberConfig } from '../../coordinator/config/zoo-cfg.ts';
import { startEnsembleMember } from '../../coordinator/member/ensemble-member.ts';
import type { RunningMember } from '../../coordinator/member/standalone-member.ts';
import { freePort } from '../helpers/drover-target.ts';
import { fourLetter } from '../helpers/four-letter.ts';
import { RawClient } from '../helpers/raw-client.ts';
import { connect, type ZkCall } from '../helpers/zk-promise.ts';

const TICK = 200;
const SNAP_COUNT = 40;

interface Member {
  id: number;
  config: MemberConfig;
  running: RunningMember | null;
  /** Every log line of this member, as parsed JSON. */
  lines: { msg?: string; follower?: number; mode?: string }[];
}

function capturingLogger(lines: Member['lines']): Logger {
  return pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Member['lines'][number]) });
}

async function mode(m: Member): Promise<string> {
  if (!m.running) return 'down';
  const srvr = await fourLetter('127.0.0.1', m.config.clientPort, 'srvr', 1000).catch(() => '');
  return /^Mode: (\w+)/m.exec(srvr)?.[1] ?? 'down';
}

/** Waits (probing srvr) until one leader serves and every running member follows it. */
async function settle(members: Member[]): Promise<Member> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const live = members.filter((m) => m.running);
    const modes = await Promise.all(live.map(mode));
    const leaders = live.filter((_, i) => modes[i] === 'leader');
    if (leaders.length === 1 && modes.every((m) => m === 'leader' || m === 'follower')) return leaders[0] as Member;
    if (Date.now() > deadline) throw new Error(`no stable leader: ${modes.join(',')}`);
    await new Promise((r) => setTimeout(r, 50)); // probe interval
  }
}

async function start(m: Member): Promise<void> {
  m.running = await startEnsembleMember(m.config, m.id, capturingLogger(m.lines));
}

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

async function snapshotFiles(m: Member): Promise<string[]> {
  return (await readdir(path.join(m.config.dataDir, 'version-2'))).filter((f) => f.startsWith('snapshot.'));
}

describe('a 3-member ensemble with snapshots', () => {
  const members: Member[] = [];
  afterAll(async () => {
    for (const m of members) {
      await m.running?.stop();
      await rm(m.config.dataDir, { recursive: true, force: true });
    }
  });

  it('brings a follower that missed more than the logs keep back by SNAP, then serves identical data', async () => {
    const quorumPorts = await Promise.all([1, 2, 3].map(() => freePort()));
    const clientPorts = await Promise.all([1, 2, 3].map(() => freePort()));
    const servers = quorumPorts.map((q, i) => ({ id: i + 1, host: '127.0.0.1', quorumPort: q, electionPort: q, role: 'participant' as const, clientPort: clientPorts[i] as number }));
    for (const id of [1, 2, 3]) {
      const dir = await mkdtemp(path.join(os.tmpdir(), `drover-snap${id}-`));
      const config = defaultConfig({
        dataDir: dir,
        dataLogDir: dir,
        clientPort: clientPorts[id - 1] as number,
        clientPortAddress: '127.0.0.1',
        tickTime: TICK,
        initLimit: 10,
        syncLimit: 5,
        snapCount: SNAP_COUNT,
        minSessionTimeout: 2 * TICK,
        maxSessionTimeout: 20 * TICK,
        fourLetterWhitelist: '*',
        servers,
      });
      members.push({ id, config, running: null, lines: [] });
    }
    await Promise.all(members.map(start));
    const leader = await settle(members);
    const connectString = members.map((m) => `127.0.0.1:${m.config.clientPort}`).join(',');

    let c = await connect(connectString);
    await c.create('/d');
    await writeMany(c, 0, 100);
    const lagging = members.find((m) => m !== leader) as Member;
    await lagging.running?.stop();
    lagging.running = null;

    // Far more than the 3 retained snapshots' worth of log.
    await writeMany(c, 100, 1200);
    expect((await snapshotFiles(leader)).length).toBeGreaterThan(0);
    await start(lagging);
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
    await Promise.all(members.map((m) => m.running?.stop()));
    for (const m of members) m.running = null;
    await Promise.all(members.map(start));
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
