/**
 * Snapshots by log size and retention, on real members: a small
 * snapSizeLimitInKb (snapCount far away) makes members snapshot by size
 * (and not before the log since the last snapshot is LOG_PER_SNAPSHOT times
 * as large as it: the rounds rewrite a fixed set of nodes, so the tree stays
 * smaller than a round);
 * each keeps `autopurge.snapRetainCount` snapshots and exactly the log
 * needed to replay from the oldest of them — recovery from any kept one,
 * the newer ones damaged, finds every write. A restart counts the log it
 * replayed toward the next snapshot instead of starting from zero.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { EventEmitter } from 'node:events';
import { cp, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino, type Logger } from 'pino';
import { defaultConfig, startStandalone, type RunningMember } from '../../coordinator/index.ts';
import type { MemberConfig } from '../../coordinator/config/zoo-cfg.ts';
import { coveredSegments, listSegments } from '../../coordinator/storage/segments.ts';
import { startEnsembleMember } from '../../coordinator/member/ensemble-member.ts';
import { LOG_PER_SNAPSHOT } from '../../coordinator/member/snapshotter.ts';
import { connect, type ZkCall } from '../helpers/zk-promise.ts';
import { RawClient } from '../helpers/raw-client.ts';
import { configureMembers, removeMembers, settle, startMember, stopMember, connectStringOf, type Member } from '../helpers/ensemble-members.ts';

interface Line {
  msg?: string;
  replayed?: number;
  /** 'snapshot due': log bytes since the last; 'snapshot written': the snapshot's size. */
  bytes?: number;
}

/** A logger whose lines a test can wait for. */
class Lines extends EventEmitter {
  readonly all: Line[] = [];
  readonly logger: Logger = pino({ level: 'debug' }, { write: (l: string) => this.add(JSON.parse(l) as Line) });
  private add(l: Line): void {
    this.all.push(l);
    this.emit('line');
  }
  count(msg: string): number {
    return this.all.filter((l) => l.msg === msg).length;
  }
  /** Resolves once `done()` holds, checked on every new line; fails after `ms`. */
  until(done: () => boolean, what: string, ms = 30_000): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('line', check);
        reject(new Error(`${what}: not within ${ms} ms`));
      }, ms);
      const check = (): void => {
        if (!done()) return;
        clearTimeout(timer);
        this.off('line', check);
        resolve();
      };
      this.on('line', check);
    });
  }
  /** Every snapshot that fell due has been written (or given up). */
  settled(): boolean {
    return this.count('snapshot due') === this.count('snapshot written') + this.count('snapshot dropped: the state was replaced while it was taken') + this.count('snapshot failed');
  }
}

const PAYLOAD = 2048;
/** Nodes, each written three times per round: ~245 KB of log, more than the largest 64 KB trigger and than LOG_PER_SNAPSHOT times the ~85 KB tree. */
const NODES = 40;
const ROUNDS = 8;
const value = (k: number, round: number): Buffer => Buffer.alloc(PAYLOAD, `v${k}-r${round}-`);

/** Round 0 creates the nodes; every round leaves node k holding value(k, round). */
async function writeRound(c: ZkCall, round: number): Promise<void> {
  for (let i = 0; i < NODES; i += 20) {
    const ks = Array.from({ length: Math.min(20, NODES - i) }, (_, j) => i + j);
    if (round === 0) await Promise.all(ks.map((k) => c.create(`/n${k}`, value(k, -1))));
    else await Promise.all(ks.map((k) => c.set(`/n${k}`, value(k, -1))));
    await Promise.all(ks.map((k) => c.set(`/n${k}`, value(k, -2))));
    await Promise.all(ks.map((k) => c.set(`/n${k}`, value(k, round))));
  }
}

async function expectNodes(c: ZkCall, round: number): Promise<void> {
  const wrong: number[] = [];
  await Promise.all(
    Array.from({ length: NODES }, async (_, k) => {
      const { data } = await c.get(`/n${k}`);
      if (!data?.equals(value(k, round))) wrong.push(k);
    }),
  );
  expect(wrong).toEqual([]);
}

async function snapshotZxids(dir: string): Promise<number[]> {
  const names = (await readdir(path.join(dir, 'version-2'))).filter((f) => /^snapshot\.[0-9a-f]{16}$/.test(f));
  return names.map((n) => parseInt(n.slice('snapshot.'.length), 16)).sort((a, b) => b - a);
}

function standaloneConfig(dataDir: string, snapSizeLimitInKb: number): MemberConfig {
  return defaultConfig({ dataDir, dataLogDir: dataDir, clientPort: 0, clientPortAddress: '127.0.0.1', tickTime: 500, minSessionTimeout: 1000, maxSessionTimeout: 10_000, snapCount: 1_000_000, snapSizeLimitInKb });
}

describe('snapshots by log size, standalone', () => {
  const dirs: string[] = [];
  const running: RunningMember[] = [];
  afterEach(async () => {
    for (const m of running.splice(0)) await m.stop();
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });
  async function start(dataDir: string, limitKb: number, lines: Lines): Promise<RunningMember> {
    const m = await startStandalone(standaloneConfig(dataDir, limitKb), lines.logger);
    running.push(m);
    return m;
  }
  async function stop(m: RunningMember): Promise<void> {
    running.splice(running.indexOf(m), 1);
    await m.stop();
  }

  it('snapshots by size, keeps three snapshots and the log from the oldest, and recovers from any of them', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'drover-snapsize-'));
    dirs.push(dataDir);
    const lines = new Lines();
    const m = await start(dataDir, 64, lines);
    const c = await connect(`127.0.0.1:${m.port}`);
    // Rounds of ~245 KB at a 32–64 KB trigger and a smaller tree, each after the last snapshot
    // finished: one or more snapshots per round, with snapCount never reached.
    for (let round = 0; round < ROUNDS; round++) {
      await writeRound(c, round);
      await lines.until(() => lines.count('snapshot written') > round && lines.settled(), `round ${round}: a snapshot by size`);
    }
    c.close();
    await stop(m);

    const kept = await snapshotZxids(dataDir);
    expect(kept).toHaveLength(3);
    const logDir = path.join(dataDir, 'version-2');
    const segments = await listSegments(logDir);
    // Nothing the oldest kept snapshot covers is left, and the first segments are gone.
    expect(coveredSegments(segments, kept[2] as number)).toEqual([]);
    expect(segments[0]?.firstZxid).toBeGreaterThan(1);
    expect(segments[0]?.firstZxid).toBeLessThanOrEqual((kept[2] as number) + 1);

    // Each kept snapshot, with the newer ones damaged, plus the retained log gives every write.
    for (let i = 0; i < kept.length; i++) {
      const copy = await mkdtemp(path.join(os.tmpdir(), 'drover-snapsize-copy-'));
      dirs.push(copy);
      await cp(dataDir, copy, { recursive: true });
      for (const newer of kept.slice(0, i)) await writeFile(path.join(copy, 'version-2', 'snapshot.' + newer.toString(16).padStart(16, '0')), 'torn');
      const r = await start(copy, 64, new Lines());
      const v = await connect(`127.0.0.1:${r.port}`);
      await expectNodes(v, ROUNDS - 1);
      v.close();
      await stop(r);
    }
  }, 90_000);

  it('waits for LOG_PER_SNAPSHOT times the log the last snapshot holds before the next: a growing tree is not rewritten per trigger', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'drover-snapratio-'));
    dirs.push(dataDir);
    const lines = new Lines();
    const m = await start(dataDir, 64, lines);
    const c = await connect(`127.0.0.1:${m.port}`);
    // 600 new 2 KB nodes: the tree outgrows the 32-64 KB trigger ~20 times over.
    for (let i = 0; i < 600; i += 20) await Promise.all(Array.from({ length: 20 }, (_, j) => c.create(`/t${i + j}`, value(i + j, 0))));
    await lines.until(() => lines.settled(), 'snapshots settled');
    c.close();
    const events = lines.all.filter((l) => l.msg === 'snapshot due' || l.msg === 'snapshot written');
    let last = 0;
    let written = 0;
    for (const e of events) {
      if (e.msg === 'snapshot due') expect(e.bytes).toBeGreaterThanOrEqual(LOG_PER_SNAPSHOT * last);
      else {
        last = e.bytes ?? 0;
        written++;
      }
    }
    // By size alone (~1.3 MB of log at <= 64 KB) it would have been 20 or more.
    expect(written).toBeGreaterThanOrEqual(2);
    expect(written).toBeLessThan(12);
  });

  it('counts the log replayed at start toward the next snapshot, and snapshots a long one at once', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'drover-snaprestart-'));
    dirs.push(dataDir);
    // No size trigger: ~1.3 MB of log and no snapshot.
    const first = await start(dataDir, 0, new Lines());
    const c = await connect(`127.0.0.1:${first.port}`);
    for (let round = 0; round < ROUNDS; round++) await writeRound(c, round);
    c.close();
    await stop(first);
    expect(await snapshotZxids(dataDir)).toEqual([]);

    // Restarted with a 64 KB trigger, it snapshots without a single new write.
    const lines = new Lines();
    const second = await start(dataDir, 64, lines);
    await lines.until(() => lines.count('snapshot written') === 1 && lines.settled(), 'a snapshot at start');
    await stop(second);
    expect(await snapshotZxids(dataDir)).toHaveLength(1);

    // And the next start replays nothing.
    const again = new Lines();
    const third = await start(dataDir, 64, again);
    expect(again.all.find((l) => l.msg === 'recovered state')?.replayed).toBe(0);
    const v = await connect(`127.0.0.1:${third.port}`);
    await expectNodes(v, ROUNDS - 1);
    v.close();
  }, 60_000);
});

/** ZooKeeper's sync: once it answers, the member has applied everything committed before it. */
async function syncWith(m: Member): Promise<void> {
  const raw = await RawClient.connect('127.0.0.1', m.config.clientPort);
  expect((await raw.request({ op: 9, path: '/' })).header.err).toBe(0);
  raw.close();
}

describe('snapshots by log size, 3-member ensemble', () => {
  let members: Member[] = [];
  afterEach(() => removeMembers(members));

  it('every member snapshots by size and keeps three snapshots; a full restart serves every write', async () => {
    members = await configureMembers(3, { snapCount: 1_000_000 });
    const lines = new Map<number, Lines>();
    for (const m of members) {
      m.config = { ...m.config, snapSizeLimitInKb: 64 };
      lines.set(m.id, new Lines());
    }
    const startWithLines = async (m: Member): Promise<void> => {
      m.running = await startEnsembleMember(m.config, m.id, (lines.get(m.id) as Lines).logger);
    };
    await Promise.all(members.map(startWithLines));
    await settle(members);
    const c = await connect(connectStringOf(members));
    for (let round = 0; round < ROUNDS; round++) {
      await writeRound(c, round);
      for (const m of members) {
        // Once synced the member has applied the round; then its snapshot, if one is running, finishes.
        await syncWith(m);
        const l = lines.get(m.id) as Lines;
        await l.until(() => l.count('snapshot written') > round && l.settled(), `member ${m.id}, round ${round}: a snapshot by size`);
      }
    }
    c.close();
    await Promise.all(members.map(stopMember));
    for (const m of members) {
      const kept = await snapshotZxids(m.config.dataDir);
      // Closing the session is a txn too: a snapshot it started may have been cut short by the stop,
      // written but with the older files left for the next one.
      const cutShort = (lines.get(m.id) as Lines).count('snapshot written; older files left for the next one (stopping)');
      expect(kept, `member ${m.id}`).toHaveLength(3 + cutShort);
      expect(coveredSegments(await listSegments(path.join(m.config.dataDir, 'version-2')), kept[kept.length - 1] as number), `member ${m.id}`).toEqual([]);
    }
    await Promise.all(members.map(startMember));
    await settle(members);
    for (const m of members) {
      await syncWith(m);
      const v = await connect(`127.0.0.1:${m.config.clientPort}`);
      await expectNodes(v, ROUNDS - 1);
      v.close();
    }
  }, 90_000);
});
