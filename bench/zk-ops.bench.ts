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
import { workloads, connect, call, createKeys, type Client } from './workloads.ts';

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

async function main(): Promise<void> {
  const onlyServer = process.env['BENCH_ONLY'];
  const onlyWorkloads = process.env['BENCH_WORKLOADS']?.split(',');
  const drover = new Map<string, Result>();
  const zk = new Map<string, Result>();
  // Each workload runs on fresh servers (no state left over from the one before), and the
  // order alternates so a noisy neighbour on this shared machine does not favour one side.
  for (const [i, w] of workloads.entries()) {
    if (onlyWorkloads && !onlyWorkloads.includes(w.name)) continue;
    const runs: [Map<string, Result>, () => Promise<Server>, string][] = [];
    if (onlyServer !== 'zookeeper') runs.push([drover, startDroverServer, 'drover']);
    if (onlyServer !== 'drover') runs.push([zk, startZooKeeper, 'zookeeper']);
    if (i % 2 === 1) runs.reverse();
    for (const [into, start, name] of runs) {
      const r = await measure(start, i);
      into.set(w.name, r);
      process.stderr.write(`  ${w.name} on ${name}: ${fmt(r.opsPerSec)} ops/s\n`);
    }
  }

  console.log(`\nStandalone, fresh servers per workload, fsync on, ${CONNECTIONS} connections x ${OUTSTANDING} outstanding (from ${THREADS} load threads), 100-byte values, ${SECONDS}s per workload\n`);
  console.log(
    ['workload'.padEnd(28), 'drover ops/s', 'p50 ms', 'p99 ms', '| zookeeper ops/s', 'p50 ms', 'p99 ms', '| ratio'].join('  '),
  );
  for (const w of workloads) {
    const d = drover.get(w.name);
    const z = zk.get(w.name);
    const cells = [
      w.name.padEnd(28),
      (d ? fmt(d.opsPerSec) : '-').padStart(12),
      (d ? fmt(d.p50, 2) : '-').padStart(6),
      (d ? fmt(d.p99, 2) : '-').padStart(6),
      '| ' + (z ? fmt(z.opsPerSec) : '-').padStart(15),
      (z ? fmt(z.p50, 2) : '-').padStart(6),
      (z ? fmt(z.p99, 2) : '-').padStart(6),
      '| ' + (d && z ? fmt(d.opsPerSec / z.opsPerSec, 2) + 'x' : '-'),
    ];
    console.log(cells.join('  '));
  }
}

await main();
