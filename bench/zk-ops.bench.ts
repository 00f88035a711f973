/**
 * `npm run bench`: Drover standalone against Apache ZooKeeper 3.8 standalone,
 * same client (node-zookeeper-client), same machine, same run, fsync on in
 * both. Each workload runs CONNECTIONS sessions x OUTSTANDING requests in
 * flight with 100-byte values, and prints ops/s, p50/p99 and the ratio
 * Drover/ZooKeeper. Absolute numbers on a shared machine are noise; the ratio
 * is the result.
 *
 * Env: BENCH_SECONDS (default 4 per workload), BENCH_ONLY=drover|zookeeper,
 * BENCH_WORKLOADS=create,getData (a subset, by name).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { spawnDroverServer, freePort } from '../test/helpers/drover-target.ts';
import { startApacheZk } from '../test/helpers/apache-zk.ts';
import { startProcessEnsemble } from '../test/helpers/ensemble-processes.ts';
import { workloads, connect, call, createKeys, type Client } from './workloads.ts';
import { restartBench } from './restart.bench.ts';

const CONNECTIONS = 4;
const OUTSTANDING = 100;
const THREADS = Number(process.env['BENCH_THREADS'] ?? 2);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 4);

interface Result {
  ops: number;
  opsPerSec: number;
  p50: number;
  p99: number;
}

/** Runs one workload from THREADS load threads sharing CONNECTIONS sessions, started together. */
async function drive(connectString: string, workload: string, root: string): Promise<Result> {
  const workers = Array.from({ length: THREADS }, (_, t) => {
    const connections = Math.floor(CONNECTIONS / THREADS) + (t < CONNECTIONS % THREADS ? 1 : 0);
    return new Worker(new URL('./load-worker.mjs', import.meta.url), {
      workerData: { connectString, workload, root, seconds: SECONDS, connections, outstanding: OUTSTANDING, first: t, stride: THREADS },
    });
  });
  const next = (w: Worker): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
  await Promise.all(workers.map(next));
  const results = workers.map(next);
  for (const w of workers) w.postMessage('go');
  const done = (await Promise.all(results)) as { latencies: Float64Array; elapsedMs: number; failures: number }[];
  await Promise.all(workers.map((w) => w.terminate()));
  const failures = done.reduce((n, d) => n + d.failures, 0);
  if (failures > 0) throw new Error(`${workload}: ${failures} requests failed`);
  const all = Float64Array.from(done.flatMap((d) => Array.from(d.latencies))).sort();
  const elapsed = Math.max(...done.map((d) => d.elapsedMs)) / 1000;
  const pct = (p: number): number => all[Math.min(all.length - 1, Math.floor(all.length * p))] ?? 0;
  return { ops: all.length, opsPerSec: all.length / elapsed, p50: pct(0.5), p99: pct(0.99) };
}

interface Server {
  connectString: string;
  stop(): Promise<void>;
}

async function startDroverServer(): Promise<Server> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'drover-bench-'));
  const port = await freePort();
  const snap = process.env['BENCH_SNAP_COUNT'];
  const proc = await spawnDroverServer(dir, port, ['--tick-time', '2000', ...(snap ? ['--snap-count', snap] : [])]);
  return {
    connectString: `127.0.0.1:${port}`,
    async stop() {
      proc.child.kill('SIGTERM');
      await proc.exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function startZooKeeper(): Promise<Server> {
  return startApacheZk({ tickTime: 2000 });
}

/** One workload on a fresh server: setup, then the measured run. */
async function measure(start: () => Promise<Server>, index: number): Promise<Result> {
  const w = workloads[index] as (typeof workloads)[number];
  const server = await start();
  try {
    const setup: Client = await connect(server.connectString);
    const root = `/bench${index}`;
    try {
      await call((cb) => setup.create(root, cb));
      if (w.keys > 0) await createKeys(setup, root, w.keys);
    } finally {
      setup.close();
    }
    return await drive(server.connectString, w.name, root);
  } finally {
    await server.stop();
  }
}

function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

function ensembleStarter(kind: 'drover' | 'zookeeper'): () => Promise<Server> {
  return async () => {
    const e = await startProcessEnsemble(kind, 3, 2000);
    return { connectString: e.connectString, stop: () => e.stop() };
  };
}

async function compare(title: string, startDrover: () => Promise<Server>, startZk: () => Promise<Server>): Promise<void> {
  const onlyServer = process.env['BENCH_ONLY'];
  const onlyWorkloads = process.env['BENCH_WORKLOADS']?.split(',');
  const drover = new Map<string, Result>();
  const zk = new Map<string, Result>();
  // Each workload runs on fresh servers (no state left over from the one before), and the
  // order alternates so a noisy neighbour on this shared machine does not favour one side.
  for (const [i, w] of workloads.entries()) {
    if (onlyWorkloads && !onlyWorkloads.includes(w.name)) continue;
    const runs: [Map<string, Result>, () => Promise<Server>, string][] = [];
    if (onlyServer !== 'zookeeper') runs.push([drover, startDrover, 'drover']);
    if (onlyServer !== 'drover') runs.push([zk, startZk, 'zookeeper']);
    if (i % 2 === 1) runs.reverse();
    for (const [into, start, name] of runs) {
      const r = await measure(start, i);
      into.set(w.name, r);
      process.stderr.write(`  ${title} ${w.name} on ${name}: ${fmt(r.opsPerSec)} ops/s\n`);
    }
  }
  console.log(`\n${title}, fresh servers per workload, fsync on, ${CONNECTIONS} connections x ${OUTSTANDING} outstanding (from ${THREADS} load threads), 100-byte values, ${SECONDS}s per workload\n`);
  console.log(['workload'.padEnd(28), 'drover ops/s', 'p50 ms', 'p99 ms', '| zookeeper ops/s', 'p50 ms', 'p99 ms', '| ratio'].join('  '));
  for (const w of workloads) {
    const d = drover.get(w.name);
    const z = zk.get(w.name);
    if (!d && !z) continue;
    console.log(
      [
        w.name.padEnd(28),
        (d ? fmt(d.opsPerSec) : '-').padStart(12),
        (d ? fmt(d.p50, 2) : '-').padStart(6),
        (d ? fmt(d.p99, 2) : '-').padStart(6),
        '| ' + (z ? fmt(z.opsPerSec) : '-').padStart(15),
        (z ? fmt(z.p50, 2) : '-').padStart(6),
        (z ? fmt(z.p99, 2) : '-').padStart(6),
        '| ' + (d && z ? fmt(d.opsPerSec / z.opsPerSec, 2) + 'x' : '-'),
      ].join('  '),
    );
  }
}

/** kill -9 the leader under a write load; time until a write issued after the kill succeeds. */
async function failoverTimes(kind: 'drover' | 'zookeeper', trials: number): Promise<number[]> {
  const times: number[] = [];
  for (let t = 0; t < trials; t++) {
    const e = await startProcessEnsemble(kind, 3, 2000);
    const client = await connect(e.connectString);
    let running = true;
    let killedAt = Infinity;
    let recovered = 0;
    let n = 0;
    const loops = Array.from({ length: 8 }, async () => {
      while (running) {
        const issuedAt = performance.now();
        const ok = await new Promise<boolean>((resolve) => client.create(`/f${n++}`, Buffer.from('x'), (err) => resolve(!err)));
        if (ok && issuedAt > killedAt && recovered === 0) recovered = performance.now();
        if (!ok) await new Promise((r) => setTimeout(r, 5));
      }
    });
    await new Promise((r) => setTimeout(r, 1000));
    const leader = await e.settle();
    killedAt = performance.now();
    await e.kill(leader);
    const deadline = Date.now() + 60_000;
    while (recovered === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    running = false;
    times.push(recovered === 0 ? NaN : recovered - killedAt);
    client.close();
    await Promise.race([Promise.all(loops), new Promise((r) => setTimeout(r, 2000))]);
    await e.stop();
    process.stderr.write(`  failover ${kind} trial ${t + 1}: ${fmt(times[times.length - 1] ?? NaN)} ms\n`);
  }
  return times;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

async function main(): Promise<void> {
  const sections = (process.env['BENCH_SECTIONS'] ?? 'standalone,ensemble,failover,restart').split(',');
  if (sections.includes('standalone')) await compare('Standalone', startDroverServer, startZooKeeper);
  if (sections.includes('ensemble')) await compare('3-member ensembles (3 processes each, same machine)', ensembleStarter('drover'), ensembleStarter('zookeeper'));
  if (sections.includes('failover')) {
    const trials = Number(process.env['BENCH_FAILOVER_TRIALS'] ?? 3);
    const d = await failoverTimes('drover', trials);
    const z = await failoverTimes('zookeeper', trials);
    console.log(`\nFailover (kill -9 the leader of 3, tickTime 2000, until a write issued after the kill succeeds), ${trials} trials each`);
    console.log(`drover    median ${fmt(median(d))} ms  (${d.map((x) => fmt(x)).join(', ')})`);
    console.log(`zookeeper median ${fmt(median(z))} ms  (${z.map((x) => fmt(x)).join(', ')})`);
  }
  // Drover only: restart time against data-dir size and age (bench/restart.bench.ts).
  if (sections.includes('restart') && process.env['BENCH_ONLY'] !== 'zookeeper') await restartBench();
}

await main();
