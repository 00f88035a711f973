/**
 * Restart time against data-dir size and age (`npm run bench`, section
 * `restart`; or `node --import tsx bench/restart.bench.ts`).
 *
 * A 3-member ensemble configured as `drover dev`'s (tickTime 500, the three
 * members in one process, so their recoveries share one thread) takes
 * demo-like writes — ~4.4 KB per txn: multis that create a run record,
 * update a queue node and delete the run written WINDOW runs earlier (the
 * tree stays ~2 MB, as the demo's does), and plain setData — in steps. After
 * each step the members stop; a fresh process starts all three on the same
 * dirs and reports how long until a leader and two followers serve. Each
 * row: txns written so far, log written per member, the cluster's data dir
 * on disk (allocated blocks, as `du`), snapshots and segments per member,
 * and the restart time. Once with `drover dev`'s size trigger (~16 MiB of
 * log), once with the server's default (~64 MiB), both beside every
 * ~snapCount txns, and once by count only (snapSizeLimitInKb=0: Drover
 * before the size trigger, which at the demo's ~20 txns/s would not
 * snapshot for the first 42–83 minutes).
 *
 * Env: BENCH_RESTART_TXNS=2500,10000,25000,50000 (cumulative steps),
 * BENCH_RESTART_MODES=dev,size,count.
 */
import { spawn } from 'node:child_process';
import { lstat, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pino } from 'pino';
import { defaultConfig } from '../coordinator/index.ts';
import { DEV_SNAP_SIZE_LIMIT_KB, type MemberConfig } from '../coordinator/config/zoo-cfg.ts';
import { startEnsembleMember } from '../coordinator/member/ensemble-member.ts';
import type { RunningMember } from '../coordinator/member/ensemble-member.ts';
import { configureMembers, type Member } from '../test/helpers/ensemble-members.ts';
import { connect, call, type Client } from './workloads.ts';
import { OPEN } from '../test/helpers/zk-promise.ts';

const WINDOW = 600;
const OUTSTANDING = 64;
const RUN = Buffer.alloc(3000, 'r');
const QUEUE = Buffer.alloc(1500, 'q');
const BIG = Buffer.alloc(4000, 's');
const QUEUES = 16;

interface Mode {
  name: string;
  snapSizeLimitInKb: number;
}
const MODES: Mode[] = [
  { name: 'dev', snapSizeLimitInKb: DEV_SNAP_SIZE_LIMIT_KB },
  { name: 'size', snapSizeLimitInKb: defaultConfig().snapSizeLimitInKb },
  { name: 'count', snapSizeLimitInKb: 0 },
];

/** Resolves once one member leads and the others follow (fails after `deadlineMs`). */
async function allServing(members: readonly RunningMember[], deadlineMs: number): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    const roles = members.map((m) => m.server.role);
    if (roles.filter((r) => r === 'leader').length === 1 && roles.every((r) => r === 'leader' || r === 'follower')) return;
    if (Date.now() - t0 > deadlineMs) throw new Error(`not serving after ${deadlineMs} ms: ${roles.join(',')}`);
    await new Promise((r) => setTimeout(r, 2)); // a role probe, not a wait for an effect
  }
}

function startAll(configs: readonly MemberConfig[]): Promise<RunningMember[]> {
  // stderr: the child's stdout carries its result.
  const log = pino({ level: 'warn' }, pino.destination(2));
  return Promise.all(configs.map((c, i) => startEnsembleMember(c, i + 1, log)));
}

/** Child: start the members on their dirs, report ms until all serve, stop. */
async function child(configFile: string): Promise<void> {
  const configs = JSON.parse(await readFile(configFile, 'utf8')) as MemberConfig[];
  const t0 = performance.now();
  const members = await startAll(configs);
  await allServing(members, 120_000);
  const ms = performance.now() - t0;
  process.stdout.write(JSON.stringify({ ms, sinceProcessStart: performance.now() }) + '\n');
  await Promise.all(members.map((m) => m.stop()));
}

async function timedRestart(configFile: string): Promise<{ ms: number; processMs: number }> {
  const p = spawn(process.execPath, ['--import', 'tsx', import.meta.filename, '--restart-child', configFile], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => p.once('exit', resolve));
  if (code !== 0) throw new Error(`restart child exited ${code}`);
  const r = JSON.parse(out.trim().split('\n').pop() as string) as { ms: number; sinceProcessStart: number };
  return { ms: r.ms, processMs: r.sinceProcessStart };
}

async function du(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir)) {
    const p = path.join(dir, name);
    const s = await lstat(p);
    total += s.isDirectory() ? await du(p) : s.blocks * 512;
  }
  return total;
}

async function files(m: Member): Promise<{ snapshots: number; segments: number }> {
  const names = await readdir(path.join(m.config.dataDir, 'version-2'));
  return { snapshots: names.filter((n) => /^snapshot\.[0-9a-f]{16}$/.test(n)).length, segments: names.filter((n) => n.startsWith('log.')).length };
}

/** Writes `count` demo-like txns; `from` numbers them across steps. Returns the payload bytes written. */
async function write(c: Client, from: number, count: number): Promise<number> {
  let next = from;
  let bytes = 0;
  const end = from + count;
  const one = async (): Promise<void> => {
    while (next < end) {
      const i = next++;
      if (i % 3 === 2) {
        bytes += BIG.length;
        await call((cb) => c.setData(`/bench/q/s${i % QUEUES}`, BIG, -1, cb));
        continue;
      }
      const run = i - Math.floor(i / 3);
      const t = c.transaction().create(`/bench/runs/r${run}`, RUN, OPEN).setData(`/bench/q/s${i % QUEUES}`, QUEUE, -1);
      if (run >= WINDOW) t.remove(`/bench/runs/r${run - WINDOW}`, -1);
      bytes += RUN.length + QUEUE.length;
      await call((cb) => t.commit(cb));
    }
  };
  await Promise.all(Array.from({ length: OUTSTANDING }, one));
  return bytes;
}

async function runMode(mode: Mode, steps: number[]): Promise<void> {
  const members = await configureMembers(3, { tickTime: 500 });
  for (const m of members) m.config = { ...m.config, snapSizeLimitInKb: mode.snapSizeLimitInKb };
  const configFile = path.join(members[0]?.config.dataDir as string, 'bench-configs.json');
  await writeFile(configFile, JSON.stringify(members.map((m) => m.config)));
  try {
    let written = 0;
    let payload = 0;
    for (const total of steps) {
      const running = await startAll(members.map((m) => m.config));
      await allServing(running, 60_000);
      const c = await connect(running.map((r) => `127.0.0.1:${r.port}`).join(','));
      if (written === 0) {
        await call((cb) => c.create('/bench', cb));
        await call((cb) => c.create('/bench/runs', cb));
        await call((cb) => c.create('/bench/q', cb));
        for (let q = 0; q < QUEUES; q++) await call((cb) => c.create(`/bench/q/s${q}`, cb));
      }
      payload += await write(c, written, total - written);
      written = total;
      c.close();
      await Promise.all(running.map((r) => r.stop()));
      let disk = 0;
      for (const m of members) disk += await du(m.config.dataDir);
      const f = await files(members[0] as Member);
      const restart = await timedRestart(configFile);
      console.log(
        `${mode.name.padEnd(6)} ${String(total).padStart(7)} txns  ${(payload / 1e6).toFixed(0).padStart(5)} MB txns/member  ${(disk / 1e6).toFixed(0).padStart(5)} MB on disk (3 members)  ` +
          `${String(f.snapshots).padStart(2)} snapshots ${String(f.segments).padStart(3)} segments/member  restart ${Math.round(restart.ms).toString().padStart(5)} ms (process ${Math.round(restart.processMs)} ms)`,
      );
    }
  } finally {
    for (const m of members) await rm(m.config.dataDir, { recursive: true, force: true });
  }
}

export async function restartBench(): Promise<void> {
  const steps = (process.env['BENCH_RESTART_TXNS'] ?? '2500,10000,25000,50000').split(',').map(Number);
  const modes = (process.env['BENCH_RESTART_MODES'] ?? 'dev,size,count').split(',');
  console.log(
    `\nRestart of a 3-member ensemble in one process (as drover dev) after demo-like writes (~4.4 KB/txn), until a leader and two followers serve` +
      `\n(dev: drover dev's ~${DEV_SNAP_SIZE_LIMIT_KB / 1024} MiB size trigger; size: the server's default, a snapshot every ~${defaultConfig().snapSizeLimitInKb / 1024} MiB of log or ~snapCount txns; count: snapSizeLimitInKb=0, snapCount only)`,
  );
  for (const mode of MODES.filter((m) => modes.includes(m.name))) await runMode(mode, steps);
}

const childAt = process.argv.indexOf('--restart-child');
if (childAt >= 0) await child(process.argv[childAt + 1] as string);
else if (import.meta.filename === path.resolve(process.argv[1] ?? '')) await restartBench();
