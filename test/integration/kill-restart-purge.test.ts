/**
 * kill -9 after retention has purged: a real `drover server` with a small
 * snapSizeLimitInKb (zoo.cfg) snapshots by size many times and deletes the
 * oldest snapshots and log segments while writes stream in; it is killed
 * mid-stream, once the first segments are gone, and the restart must find
 * every acknowledged write with its data.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { spawnDrover, freePort } from '../helpers/drover-target.ts';
import { codeOf, connect, zookeeper } from '../helpers/zk-promise.ts';

const value = (p: string): Buffer => Buffer.alloc(1024, p);

describe('kill -9 after snapshots by size and purges', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('keeps every acknowledged write across a hard kill and restart', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'drover-killpurge-'));
    dirs.push(dataDir);
    const port = await freePort();
    const cfg = path.join(dataDir, 'zoo.cfg');
    await writeFile(cfg, [`dataDir=${dataDir}`, `clientPort=${port}`, 'clientPortAddress=127.0.0.1', 'snapCount=1000000', 'snapSizeLimitInKb=64', 'autopurge.snapRetainCount=3', ''].join('\n'));
    const first = await spawnDrover(['--config', cfg], port);
    const client = (await connect(`127.0.0.1:${port}`)).client;
    const logDir = path.join(dataDir, 'version-2');
    const purged = (): boolean => {
      const files = readdirSync(logDir);
      return !files.includes('log.0000000000000001') && files.filter((f) => /^snapshot\.[0-9a-f]{16}$/.test(f)).length >= 3;
    };
    const acked: string[] = [];
    let sent = 0;
    let sawPurge = false;
    // Keep 64 creates of 1 KB in flight; kill once enough are acknowledged and old files have gone.
    await new Promise<void>((resolve) => {
      let killed = false;
      const sendOne = (): void => {
        if (killed) return;
        const p = `/k${sent++}`;
        client.create(p, value(p), (err) => {
          if (killed) return;
          if (!err) acked.push(p);
          if (acked.length >= 1500 && acked.length % 50 === 0 && purged()) {
            sawPurge = true;
            killed = true;
            first.child.kill('SIGKILL');
            resolve();
            return;
          }
          sendOne();
        });
      };
      for (let i = 0; i < 64; i++) sendOne();
    });
    const ackedAtKill = acked.slice();
    expect(sawPurge).toBe(true);
    expect(await first.exited).toBe('SIGKILL');
    client.close();

    const second = await spawnDrover(['--config', cfg], port);
    try {
      const verifier = await connect(`127.0.0.1:${port}`);
      const wrong: string[] = [];
      await Promise.all(
        ackedAtKill.map(async (p) => {
          const data = await verifier.get(p).then(
            (r) => r.data,
            (err: unknown) => (codeOf(err) === zookeeper.Exception.NO_NODE ? undefined : Promise.reject(err)),
          );
          if (!data?.equals(value(p))) wrong.push(p);
        }),
      );
      expect(wrong).toEqual([]);
      await verifier.create('/after-restart');
      verifier.close();
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  }, 120_000);
});
