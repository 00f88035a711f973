/**
 * `npm run bench`: Drover standalone against Apache ZooKeeper 3.8 standalone,
 * same client (node-zookeeper-client), same machine, same run, fsync on in
 * both. Each workload runs CONNECTIONS sessions x OUTSTANDING requests in
 * flight with 100-byte values, and prints ops/s, p50/p99 and the ratio
 * Drover/ZooKeeper. Absolute numbers on a shared machine are noise; the ratio
 * is the result.
 *
 * Env: BENCH_SECONDS (default 4 per workload), BENCH_ONLY=drover|zookeeper.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import zookeeper from 'node-zookeeper-client';
import { spawnDroverServer, freePort } from '../test/helpers/drover-target.ts';
import { startApacheZk } from '../test/helpers/apache-zk.ts';

type Client = ReturnType<typeof zookeeper.createClient>;

const CONNECTIONS = 4;
const OUTSTANDING = 100;
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 4);
const VALUE = Buffer.alloc(100, 120);

interface Result {
  ops: number;
  opsPerSec: number;
  p50: number;
  p99: number;
}

type Op = (client: Client, i: number, done: (err: unknown) => void) => void;

interface Workload {
  name: string;
  setup?: (clients: Client[], root: string) => Promise<void>;
  op: (root: string) => Op;
}

const KEYS = 1000;

const workloads: Workload[] = [
  { name: 'create', op: (root) => (c, i, done) => c.create(`${root}/c${i}`, VALUE, (e) => done(e)) },
  {
    name: 'setData',
    setup: (clients, root) => createKeys(clients[0] as Client, root),
    op: (root) => (c, i, done) => c.setData(`${root}/k${i % KEYS}`, VALUE, -1, (e) => done(e)),
  },
  {
    name: 'getData',
    setup: (clients, root) => createKeys(clients[0] as Client, root),
    op: (root) => (c, i, done) => c.getData(`${root}/k${i % KEYS}`, (e) => done(e)),
  },
  {
    name: 'create ephemeral sequential',
    op: (root) => (c, _i, done) => c.create(`${root}/e-`, VALUE, zookeeper.CreateMode.EPHEMERAL_SEQUENTIAL, (e) => done(e)),
  },
  {
    name: 'delete',
    setup: (clients, root) => createKeys(clients[0] as Client, root, 60_000),
    op: (root) => (c, i, done) => c.remove(`${root}/k${i}`, -1, (e) => done(e)),
  },
  {
    name: '90% read / 10% write',
    setup: (clients, root) => createKeys(clients[0] as Client, root),
    op: (root) => (c, i, done) =>
      i % 10 === 0 ? c.setData(`${root}/k${i % KEYS}`, VALUE, -1, (e) => done(e)) : c.getData(`${root}/k${i % KEYS}`, (e) => done(e)),
  },
];

function connect(connectString: string): Promise<Client> {
  const client = zookeeper.createClient(connectString, { sessionTimeout: 30_000 });
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`connect to ${connectString} timed out`)), 15_000);
    client.once('connected', () => {
      clearTimeout(t);
      resolve(client);
    });
    client.connect();
  });
}

function call(fn: (cb: (err: unknown) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => fn((err) => (err ? reject(err) : resolve())));
}

async function createKeys(client: Client, root: string, n = KEYS): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      await call((cb) => client.create(`${root}/k${i}`, VALUE, cb));
    }
  };
  await Promise.all(Array.from({ length: 200 }, worker));
}

/** Runs `op` with OUTSTANDING requests in flight per client for SECONDS; the counter i is global. */
async function drive(clients: Client[], op: Op, limit: number): Promise<Result> {
  const latencies: number[] = [];
  let i = 0;
  let failures = 0;
  const start = performance.now();
  const deadline = start + SECONDS * 1000;
  await Promise.all(
    clients.map(
      (client) =>
        new Promise<void>((resolve) => {
          let inFlight = 0;
          const issue = (): void => {
            if (performance.now() >= deadline || i >= limit) {
              if (inFlight === 0) resolve();
              return;
            }
            const t0 = performance.now();
            inFlight++;
            op(client, i++, (err) => {
              inFlight--;
              if (err) failures++;
              latencies.push(performance.now() - t0);
              issue();
            });
          };
          for (let k = 0; k < OUTSTANDING; k++) issue();
        }),
    ),
  );
  const elapsed = (performance.now() - start) / 1000;
  if (failures > 0) throw new Error(`${failures} requests failed`);
  latencies.sort((a, b) => a - b);
  const pct = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0;
  return { ops: latencies.length, opsPerSec: latencies.length / elapsed, p50: pct(0.5), p99: pct(0.99) };
}

async function runAll(connectString: string): Promise<Map<string, Result>> {
  const results = new Map<string, Result>();
  const clients = await Promise.all(Array.from({ length: CONNECTIONS }, () => connect(connectString)));
  try {
    for (const [n, w] of workloads.entries()) {
      const root = `/bench${n}`;
      await call((cb) => (clients[0] as Client).create(root, cb));
      if (w.setup) await w.setup(clients, root);
      const limit = w.name === 'delete' ? 60_000 : Number.MAX_SAFE_INTEGER;
      results.set(w.name, await drive(clients, w.op(root), limit));
    }
  } finally {
    for (const c of clients) c.close();
  }
  return results;
}

function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

async function main(): Promise<void> {
  const only = process.env['BENCH_ONLY'];
  let drover: Map<string, Result> | undefined;
  let zk: Map<string, Result> | undefined;

  if (only !== 'zookeeper') {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'drover-bench-'));
    const port = await freePort();
    const proc = await spawnDroverServer(dir, port, ['--tick-time', '2000']);
    try {
      drover = await runAll(`127.0.0.1:${port}`);
    } finally {
      proc.child.kill('SIGTERM');
      await proc.exited;
      await rm(dir, { recursive: true, force: true });
    }
  }
  if (only !== 'drover') {
    const target = await startApacheZk({ tickTime: 2000 });
    try {
      zk = await runAll(target.connectString);
    } finally {
      await target.stop();
    }
  }

  console.log(`\nStandalone, fsync on, ${CONNECTIONS} connections x ${OUTSTANDING} outstanding, 100-byte values, ${SECONDS}s per workload\n`);
  console.log(
    ['workload'.padEnd(28), 'drover ops/s', 'p50 ms', 'p99 ms', '| zookeeper ops/s', 'p50 ms', 'p99 ms', '| ratio'].join('  '),
  );
  for (const w of workloads) {
    const d = drover?.get(w.name);
    const z = zk?.get(w.name);
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
