/**
 * Durability with a real process: kill -9 the server in the middle of a
 * stream of writes, restart it on the same data dir, and find every write
 * that was acknowledged before the kill.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { spawnDroverServer, freePort } from '../helpers/drover-target.ts';
import { connect, zookeeper } from '../helpers/zk-promise.ts';

describe('kill -9 during writes', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it.each([
    ['from the log alone', []],
    ['from fuzzy snapshots plus the log', ['--snap-count', '300']],
  ])('keeps every acknowledged write across a hard kill and restart (%s)', async (_name, extra) => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'drover-kill-'));
    dirs.push(dataDir);
    const port = await freePort();
    const first = await spawnDroverServer(dataDir, port, extra);
    const client = (await connect(`127.0.0.1:${port}`)).client;
    const acked: string[] = [];
    let sent = 0;
    const window = 64;
    // Keep `window` creates in flight; kill once enough have been acknowledged.
    await new Promise<void>((resolve) => {
      let killed = false;
      const sendOne = (): void => {
        if (killed) return;
        const p = `/k${sent++}`;
        client.create(p, Buffer.from('v'), (err) => {
          if (killed) return;
          if (!err) acked.push(p);
          if (acked.length >= 1500) {
            killed = true;
            first.child.kill('SIGKILL');
            resolve();
            return;
          }
          sendOne();
        });
      };
      for (let i = 0; i < window; i++) sendOne();
    });
    const ackedAtKill = acked.slice();
    expect(await first.exited).toBe('SIGKILL');
    client.close();

    if (extra.length > 0) {
      const files = await readdir(path.join(dataDir, 'version-2'));
      expect(files.some((f) => f.startsWith('snapshot.'))).toBe(true);
    }
    const second = await spawnDroverServer(dataDir, port);
    try {
      const verifier = await connect(`127.0.0.1:${port}`);
      const missing: string[] = [];
      await Promise.all(ackedAtKill.map(async (p) => {
        if (!(await verifier.exists(p))) missing.push(p);
      }));
      expect(missing).toEqual([]);
      // And the server takes new writes after recovery.
      await verifier.create('/after-restart');
      verifier.close();
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  });
});

describe('SIGTERM', () => {
  it('closes cleanly: exit code 0, lock released, state kept', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'drover-term-'));
    const port = await freePort();
    const first = await spawnDroverServer(dataDir, port);
    const client = (await connect(`127.0.0.1:${port}`)).client;
    await new Promise<void>((resolve, reject) => client.create('/kept', Buffer.from('x'), (err) => (err ? reject(err) : resolve())));
    client.close();
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    // A second server can take the data dir at once: the lock was released.
    const second = await spawnDroverServer(dataDir, port);
    const verifier = await connect(`127.0.0.1:${port}`);
    expect(await verifier.exists('/kept')).not.toBeNull();
    verifier.close();
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    await rm(dataDir, { recursive: true, force: true });
  });
});

describe('sessions across a restart', () => {
  it('an ephemeral outlives the server restart and goes when its session times out', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'drover-eph-'));
    const port = await freePort();
    const first = await spawnDroverServer(dataDir, port, ['--tick-time', '100']);
    const owner = await connect(`127.0.0.1:${port}`, { sessionTimeout: 1000 });
    await owner.create('/eph', Buffer.from('x'), zookeeper.CreateMode.EPHEMERAL);
    first.child.kill('SIGKILL');
    await first.exited;
    owner.close();
    const second = await spawnDroverServer(dataDir, port, ['--tick-time', '100']);
    try {
      const watcher = await connect(`127.0.0.1:${port}`);
      // Still there: its session is restored with a fresh timeout.
      let deletedEvent!: (name: string) => void;
      const deleted = new Promise<string>((resolve) => (deletedEvent = resolve));
      expect(await watcher.exists('/eph', (e) => deletedEvent(e.getName()))).not.toBeNull();
      expect(await deleted).toBe('NODE_DELETED');
      expect(await watcher.exists('/eph')).toBeNull();
      watcher.close();
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
