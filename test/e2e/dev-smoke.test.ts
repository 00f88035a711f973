/**
 * `npm start` (= `drover dev`) from a fresh directory: it comes up, prints
 * the dashboard's URL, the dashboard answers, example runs complete; SIGINT
 * exits 0 and leaves none of its worker processes behind; started again in
 * the same directory it resumes the cluster it had.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openFeed } from '../dashboard/sse-client.ts';
import { freePortBase } from '../helpers/free-port-base.ts';

const ENTRY = path.resolve(import.meta.dirname, '..', '..', 'bin', 'drover.mjs');

interface Dev {
  child: ChildProcess;
  url: string;
  output: () => string;
}

async function startDev(cwd: string, portBase: number): Promise<Dev> {
  const child = spawn(process.execPath, [ENTRY, 'dev', '--port-base', String(portBase), '--dashboard-port', '0'], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DROVER_LOG_LEVEL: 'warn' } });
  let out = '';
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`drover dev printed no URL within 120 s:\n${out}`)), 120_000);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /Dashboard:\s+(http:\/\/\S+)/.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`drover dev exited with ${code} before printing its URL:\n${out}`));
    });
  });
  return { child, url, output: () => out };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function stopDev(dev: Dev): Promise<number | null> {
  const exited = once(dev.child, 'exit') as Promise<[number | null, string | null]>;
  dev.child.kill('SIGINT');
  const [code] = await exited;
  return code;
}

describe('npm start (drover dev)', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('comes up, runs the examples, stops cleanly on SIGINT, and resumes', { timeout: 300_000 }, async () => {
    const cwd = await mkdtemp(path.join(os.tmpdir(), 'drover-dev-'));
    dirs.push(cwd);
    const portBase = await freePortBase();
    const dev = await startDev(cwd, portBase);
    let workerPids: number[] = [];
    let finished: { job: string; id: string } | undefined;
    try {
      const health = (await (await fetch(new URL('/api/health', dev.url))).json()) as { ok: boolean };
      expect(health.ok).toBe(true);
      const page = await fetch(dev.url);
      expect(page.status).toBe(200);
      expect(await page.text()).toMatch(/Drover/);

      const feed = await openFeed(dev.url);
      try {
        const workers = await feed.until('three workers', (s) => {
          const w = s['workers'] as { pid?: number }[];
          return w.length === 3 && w;
        }, 90_000);
        workerPids = workers.map((w) => w.pid).filter((p): p is number => typeof p === 'number');
        expect(workerPids).toHaveLength(3);
        expect(workerPids.every(alive)).toBe(true);
        const members = await feed.until('three members serving', (s) => {
          const m = s['ensemble'] as { up: boolean; stats?: { mode: string } }[];
          return m.length === 3 && m.every((x) => x.up) && m;
        }, 60_000);
        expect(members.map((m) => m.stats?.mode).sort()).toEqual(['follower', 'follower', 'leader']);
        // Runs the producer enqueued, finished by the workers.
        const run = await feed.until('a finished example run', (s) => (s['runs'] as { job: string; id: string; state: string }[]).find((r) => r.state === 'succeeded'), 90_000);
        finished = { job: run.job, id: run.id };
      } finally {
        feed.close();
      }
    } catch (err) {
      dev.child.kill('SIGKILL');
      throw new Error(`${(err as Error).message}\n--- drover dev output ---\n${dev.output()}`);
    }
    expect(await stopDev(dev), dev.output()).toBe(0);
    expect(workerPids.filter(alive), 'worker processes left behind').toEqual([]);
    expect(await readdir(path.join(cwd, '.drover'))).toEqual(expect.arrayContaining(['member-1', 'member-2', 'member-3']));

    // Started again in the same directory: the same cluster, with its history.
    const again = await startDev(cwd, portBase);
    try {
      const res = await fetch(new URL(`/api/runs/${finished!.job}/${finished!.id}`, again.url));
      expect(res.status, again.output()).toBe(200);
      expect(((await res.json()) as { run: { state: string } }).run.state).toBe('succeeded');
    } finally {
      expect(await stopDev(again), again.output()).toBe(0);
    }
  });
});
