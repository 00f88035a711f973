/**
 * `npm run bench:operator` (issue 10's scale benchmark): what an operator's
 * window costs as the backlog grows. A standalone Drover server (a process,
 * fsync on) holds 100,000 finished runs in history, then 10k, 100k and
 * 1,000,000 waiting runs; at each size:
 *
 *   dashboard     the installed CLI's `drover dashboard` (dist/) started
 *                 fresh: ms to its first `GET /api/overview` and to the
 *                 first SSE `snapshot`, its RSS at rest (2 s after the
 *                 snapshot) and after the page reads below, and the watches
 *                 it holds on the server (mntr zk_watch_count, after − before)
 *   pages         `GET /api/jobs/:job/runs`: the first page of waiting runs,
 *                 a page from the middle of the queue (a cursor at half its
 *                 depth), the first page of finished runs and a deep one
 *                 (median of 5 each; "history cold" is the very first
 *                 history read, which lists the history once)
 *   status        `drover status` (installed CLI, a fresh process), median of 3
 *
 * Then the same at 100k waiting on a 3-member Drover ensemble and on Apache
 * ZooKeeper 3.8 (standalone, Debian's package), each filled the same way.
 *
 * Goals (issue 10) at 1,000,000: overview and snapshot < 1 s, RSS < 150 MB,
 * < 1,000 watches, a page < 200 ms, status < 1 s, and every figure flat from
 * 10k to 1M. Env: BENCH_OP_SIZES (10000,100000,1000000), BENCH_OP_HISTORY
 * (100000), BENCH_OP_SECTIONS (standalone,ensemble,zookeeper). `npm run
 * build` first (bench:operator does).
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Coordination, Op } from '../shared/client/coordination.ts';
import { connectCoordination } from '../shared/client/zk-client.ts';
import { defineJob } from '../shared/jobs/define-job.ts';
import { enqueueWith } from '../shared/jobs/enqueue.ts';
import { ensureJobDirs, publishJob } from '../shared/jobs/job-dirs.ts';
import type { RunRecord } from '../shared/jobs/job-types.ts';
import { layout, pad } from '../shared/jobs/layout.ts';
import { encodeCursor } from '../shared/jobs/run-pages.ts';
import { startApacheZk } from '../test/helpers/apache-zk.ts';
import { freePort, spawnDroverServer } from '../test/helpers/drover-target.ts';
import { startProcessEnsemble } from '../test/helpers/ensemble-processes.ts';
import { fourLetter } from '../test/helpers/four-letter.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const CLI = path.join(REPO, 'dist', 'bin', 'drover.js');
const SIZES = (process.env['BENCH_OP_SIZES'] ?? '10000,100000,1000000').split(',').map(Number);
const HISTORY = Number(process.env['BENCH_OP_HISTORY'] ?? 100_000);
const JOB = 'op-bench';
const DONE = 'op-bench-done';

const waiting = defineJob({ name: JOB, run: () => null });
const finished = defineJob({ name: DONE, run: () => null, history: { keep: 1_000_000 } });

async function watchCount(port: number): Promise<number> {
  const mntr = await fourLetter('127.0.0.1', port, 'mntr');
  return Number(/zk_watch_count\s+(\d+)/.exec(mntr)?.[1] ?? NaN);
}

/** Tops the queue up to `total` waiting runs, 2,000 per enqueue, 4 at once. */
async function fillWaiting(client: Coordination, from: number, total: number): Promise<void> {
  const per = 2_000;
  const pending: Promise<string[]>[] = [];
  for (let i = from; i < total; i += per) {
    pending.push(enqueueWith(client, JOB, Array.from({ length: Math.min(per, total - i) }, (_, k) => ({ input: { i: i + k } }))));
    if (pending.length >= 4) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
}

/** `count` finished runs as a worker leaves them: the record (succeeded) and its history entry. */
async function fillHistory(client: Coordination, count: number): Promise<void> {
  await ensureJobDirs(client, DONE);
  const t0 = Date.now() - count;
  for (let i = 0; i < count; i += 400) {
    const ops: Op[] = [];
    for (let k = i; k < Math.min(count, i + 400); k++) {
      const id = `r-bench-${pad(k, 9)}`;
      const end = t0 + k;
      const record: RunRecord = { v: 1, id, job: DONE, state: 'succeeded', input: { k }, attempt: 1, maxAttempts: 1, priority: 5, enqueuedAt: end - 5, startedAt: end - 3, finishedAt: end, result: k };
      ops.push({ op: 'create', path: layout.run(DONE, id), data: Buffer.from(JSON.stringify(record)) });
      ops.push({ op: 'create', path: layout.historyEntry(DONE, 'succeeded', end, id) });
    }
    await client.multi(ops);
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t = process.hrtime.bigint();
  const value = await fn();
  return { ms: Number(process.hrtime.bigint() - t) / 1e6, value };
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN) / 1024;
}

/** The first `event: snapshot` of an SSE stream. */
async function firstSnapshot(url: string): Promise<void> {
  const res = await fetch(new URL('/api/events', url));
  const reader = res.body?.getReader();
  if (!reader) throw new Error('no SSE body');
  let text = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error('SSE ended before a snapshot');
    text += Buffer.from(value).toString('utf8');
    if (/event: snapshot\ndata: .*\n\n/s.test(text)) break;
  }
  await reader.cancel();
}

/** Watches held on every member (the dashboard's session sits on one of them). */
async function watchesOn(ports: number[]): Promise<number> {
  return (await Promise.all(ports.map(watchCount))).reduce((a, b) => a + b, 0);
}

/** A page's median time, or what went wrong (Apache ZooKeeper refuses a listing over jute.maxbuffer). */
function shown(ms: number | Error): string {
  return ms instanceof Error ? `error` : ms.toFixed(1);
}

async function measure(backend: string, connect: string, ports: number[], size: number): Promise<Record<string, string>> {
  const before = await watchesOn(ports);
  const dashPort = await freePort();
  const started = process.hrtime.bigint();
  const dash = spawn(process.execPath, [CLI, 'dashboard', '--connect', connect, '--port', String(dashPort), '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let err = '';
      dash.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        const m = /dashboard at (\S+)/.exec(err);
        if (m?.[1]) resolve(m[1]);
      });
      dash.once('exit', (code) => reject(new Error(`dashboard exited (${code}): ${err}`)));
    });
    const overview = await fetch(new URL('/api/overview', url));
    if (!overview.ok) throw new Error(`overview ${overview.status}`);
    await overview.json();
    const overviewMs = Number(process.hrtime.bigint() - started) / 1e6;
    await firstSnapshot(url);
    const snapshotMs = Number(process.hrtime.bigint() - started) / 1e6;
    // At rest: two seconds of live updates, then what it holds.
    await new Promise((r) => setTimeout(r, 2000));
    const rss = rssMb(dash.pid as number);
    const watches = (await watchesOn(ports)) - before;
    let cold = 0;
    const page = async (query: string): Promise<number | Error> => {
      const times: number[] = [];
      for (let i = 0; i < 5; i++) {
        const { ms, value } = await timed(() => fetch(new URL(`/api/jobs/${query}`, url)));
        if (!value.ok) {
          const why = new Error(`${query}: ${value.status} ${await value.text()}`);
          console.log(`  ${backend} ${size}: ${why.message.slice(0, 200)}`);
          return why;
        }
        await value.json();
        times.push(ms);
      }
      cold = times[0] as number;
      return median(times);
    };
    const first = await page(`${JOB}/runs?state=waiting&limit=50`);
    const deep = await page(`${JOB}/runs?state=waiting&limit=50&cursor=${encodeCursor('waiting', { p: 5, i: Math.floor(size / 2) })}`);
    const history = await page(`${DONE}/runs?state=succeeded&limit=50`);
    // The first read of a long history lists it; the next pages reuse the listing until it changes.
    const historyCold = cold;
    const historyDeep = await page(`${DONE}/runs?state=succeeded&limit=50&cursor=${encodeCursor('succeeded', { n: `h-${pad(Date.now() - HISTORY / 2, 13)}-r` })}`);
    const rssPaged = rssMb(dash.pid as number);
    const status: number[] = [];
    for (let i = 0; i < 3; i++) {
      status.push(
        (
          await timed(
            () =>
              new Promise<void>((resolve, reject) =>
                execFile(process.execPath, [CLI, 'status', '--connect', connect], (err) => (err ? reject(err) : resolve())),
              ),
          )
        ).ms,
      );
    }
    return {
      backend,
      size: size.toLocaleString('en-US'),
      overview: overviewMs.toFixed(0),
      snapshot: snapshotMs.toFixed(0),
      rss: rss.toFixed(0),
      'rss paged': rssPaged.toFixed(0),
      watches: String(watches),
      'page first': shown(first),
      'page deep': shown(deep),
      'history first': shown(history),
      'history cold': historyCold.toFixed(1),
      'history deep': shown(historyDeep),
      status: median(status).toFixed(0),
    };
  } finally {
    dash.kill('SIGTERM');
  }
}

interface Backend {
  connect: string;
  /** Client ports of every member, for mntr. */
  ports: number[];
  stop(): Promise<void>;
}

async function standalone(): Promise<Backend> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'drover-op-bench-'));
  const port = await freePort();
  const server = await spawnDroverServer(dir, port);
  return {
    connect: `127.0.0.1:${port}`,
    ports: [port],
    stop: async () => {
      server.child.kill('SIGTERM');
      await server.exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function ensemble(): Promise<Backend> {
  const e = await startProcessEnsemble('drover', 3, 2000);
  await e.settle();
  return { connect: e.connectString, ports: e.members.map((m) => m.clientPort), stop: () => e.stop() };
}

async function zookeeper(): Promise<Backend> {
  const z = await startApacheZk({ tickTime: 2000, heapMb: 2048 });
  return { connect: z.connectString, ports: [z.port], stop: () => z.stop() };
}

/** Fills `history` finished runs, then tops the queue up to each size and measures. */
async function section(name: string, start: () => Promise<Backend>, sizes: number[], rows: Record<string, string>[]): Promise<void> {
  const backend = await start();
  const client = await connectCoordination({ connect: backend.connect, root: '/drover', sessionTimeoutMs: 30_000 });
  try {
    await publishJob(client, waiting.spec);
    await publishJob(client, finished.spec);
    const h = await timed(() => fillHistory(client, HISTORY));
    console.log(`${name}: ${HISTORY.toLocaleString('en-US')} finished runs in history (${(h.ms / 1000).toFixed(1)} s)`);
    let have = 0;
    for (const size of sizes) {
      const f = await timed(() => fillWaiting(client, have, size));
      have = size;
      console.log(`  ${size.toLocaleString('en-US')} waiting (filled in ${(f.ms / 1000).toFixed(1)} s); measuring`);
      rows.push(await measure(name, backend.connect, backend.ports, size));
    }
  } finally {
    await client.close();
    await backend.stop();
  }
}

async function main(): Promise<void> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  const sections = (process.env['BENCH_OP_SECTIONS'] ?? 'standalone,ensemble,zookeeper').split(',');
  const rows: Record<string, string>[] = [];
  const run = async (name: string, start: () => Promise<Backend>, sizes: number[]): Promise<void> => {
    try {
      await section(name, start, sizes, rows);
    } catch (err) {
      console.log(`  ${name}: failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  if (sections.includes('standalone')) await run('drover standalone', standalone, SIZES);
  if (sections.includes('ensemble')) await run('drover 3 members', ensemble, [100_000]);
  if (sections.includes('zookeeper')) await run('zookeeper 3.8', zookeeper, [100_000]);
  const cols = Object.keys(rows.find((r) => Object.keys(r).length > 2) ?? rows[0] ?? {});
  console.log(`\nOperator reads, ${HISTORY.toLocaleString('en-US')} runs in history (ms; RSS MB at rest and after the pages; watches held by the dashboard)`);
  console.log(cols.map((c) => c.padStart(c === 'backend' ? 18 : 14)).join(''));
  for (const r of rows) console.log(cols.map((c) => String(r[c]).padStart(c === 'backend' ? 18 : 14)).join(''));
  console.log('goals at 1,000,000: overview and snapshot < 1000 ms, RSS < 150 MB, < 1000 watches, page < 200 ms, status < 1000 ms; flat from 10k');
}

await main();
