/**
 * `npm run bench:duties` (also the tail of `npm run bench`): how soon a
 * kill -9'd worker's duties move to the survivor, on a 3-member Drover
 * ensemble and on Apache ZooKeeper, both at tickTime 500 (as `drover dev`).
 *
 * Per round, on a fresh namespace root: `drover worker` A starts with the
 * job file bench/failover-duties-jobs.ts, claims the one run of a job that
 * never finishes, leads the scheduler (a cron job fires every second) and
 * owns every partition; then worker B starts and takes its share of the
 * partitions. A is killed with SIGKILL and, from the kill, the bench times
 * (from watches, not polls):
 *   run        the run is B's (re-queued and claimed by the survivor: its record active by B)
 *   scheduler  /scheduler/state names B
 *   partitions every owners/p-N is B's
 *   cron late  the worst lateness (fire node ctime - due) of the ticks around the kill;
 *              the new scheduler fires the missed ones late (within the misfire grace)
 * The workers use their default session timeout (BENCH_SESSION_TIMEOUT
 * passes --session-timeout, e.g. 10000 for the former default).
 *
 * Env: BENCH_REPEAT (3; medians reported), BENCH_TICK_MS (500),
 * BENCH_BACKENDS (drover,zookeeper; zookeeper is skipped with a note when
 * it is not installed), BENCH_SESSION_TIMEOUT.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { Coordination, Watcher } from '../shared/client/coordination.ts';
import { isZkError } from '../shared/client/zk-error.ts';
import { connectCoordination } from '../shared/client/zk-client.ts';
import { enqueue } from '../shared/jobs/enqueue.ts';
import { layout } from '../shared/jobs/layout.ts';
import { apacheZkAvailable, startApacheZk } from '../test/helpers/apache-zk.ts';
import { startDroverEnsemble } from '../test/helpers/drover-ensemble.ts';
import { DUTIES_PARTITIONS } from './failover-duties-jobs.ts';

const REPEAT = Number(process.env['BENCH_REPEAT'] ?? 3);
const TICK_MS = Number(process.env['BENCH_TICK_MS'] ?? 500);
const BACKENDS = (process.env['BENCH_BACKENDS'] ?? 'drover,zookeeper').split(',').map((b) => b.trim());
const SESSION_TIMEOUT = process.env['BENCH_SESSION_TIMEOUT'];
const DROVER_BIN = fileURLToPath(new URL('../bin/drover.mjs', import.meta.url));
const JOB_FILE = fileURLToPath(new URL('./failover-duties-jobs.ts', import.meta.url));
/** Bounds every wait: a duty that has not moved by then is a failure, not a slow result. */
const WAIT_MS = 30_000;

interface WorkerProc {
  child: ChildProcess;
  id: Promise<string>;
  exited: Promise<unknown>;
}

function startWorker(connect: string, root: string, name: string): WorkerProc {
  const args = [DROVER_BIN, 'worker', '--connect', connect, '--root', root, '--name', name, '--jobs', JOB_FILE, '--log-level', 'warn'];
  if (SESSION_TIMEOUT) args.push('--session-timeout', SESSION_TIMEOUT);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = once(child, 'exit');
  let seen = '';
  const id = new Promise<string>((resolve, reject) => {
    child.stderr?.on('data', (c: Buffer) => {
      seen = (seen + c.toString('utf8')).slice(-8192);
      const m = /drover worker: (w-\d+) running/.exec(seen);
      if (m?.[1]) resolve(m[1]);
    });
    void exited.then(() => reject(new Error(`worker ${name} exited before it ran:\n${seen}`)));
  });
  return { child, id, exited };
}

async function killHard(w: WorkerProc): Promise<void> {
  if (w.child.exitCode !== null || w.child.signalCode !== null) return;
  w.child.kill('SIGKILL');
  await w.exited;
}

/**
 * Resolves (to performance.now()) once check() holds. check sets its watches
 * with `watch`; any of them firing runs it again, so the time is the watch
 * notification's, bounded by WAIT_MS.
 */
async function until(what: string, check: (watch: Watcher) => Promise<boolean>): Promise<number> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    let wake: () => void = () => {};
    const woke = new Promise<void>((resolve) => (wake = resolve));
    if (await check(() => wake())) return performance.now();
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`timed out waiting for ${what}`);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([woke, new Promise<void>((resolve) => (timer = setTimeout(resolve, left)))]);
    clearTimeout(timer);
  }
}

/** A node's JSON `field`, or null when the node is absent (watched either way). */
async function field(client: Coordination, path: string, key: string, watch: Watcher): Promise<string | null> {
  try {
    const stat = await client.exists(path, watch);
    if (!stat) return null;
    const { data } = await client.get(path, watch);
    const value = (JSON.parse(data.toString('utf8')) as Record<string, unknown>)[key];
    return typeof value === 'string' ? value : null;
  } catch (err) {
    if (isZkError(err, 'NO_NODE')) return null; // deleted between exists and get: the watch reports it
    throw err;
  }
}

/**
 * The worker running the run: its record's `worker` while it is active. A
 * lease is per claim (a claim group's names the claim, not the run), and the
 * record is set in the same multi that creates it: one watched read.
 */
async function runHolder(client: Coordination, runId: string, watch: Watcher): Promise<string | null> {
  try {
    const { data } = await client.get(layout.run('duties-hold', runId), watch);
    const rec = JSON.parse(data.toString('utf8')) as { state?: unknown; worker?: unknown };
    return rec.state === 'active' && typeof rec.worker === 'string' ? rec.worker : null;
  } catch (err) {
    if (isZkError(err, 'NO_NODE')) return null; // the enqueue wrote it before any look: gone means nobody holds it
    throw err;
  }
}

async function scheduler(client: Coordination, watch: Watcher): Promise<string | null> {
  return field(client, layout.schedulerState, 'leader', watch);
}

/** The owner of each partition (null: none now). */
async function owners(client: Coordination, watch: Watcher): Promise<(string | null)[]> {
  await client.ensurePath(layout.partitionOwners('duties-parts'));
  await client.children(layout.partitionOwners('duties-parts'), watch);
  return Promise.all(Array.from({ length: DUTIES_PARTITIONS }, (_, p) => field(client, layout.partitionOwner('duties-parts', p), 'worker', watch)));
}

interface Round {
  run: number;
  scheduler: number;
  partitions: number;
  cronLate: number;
}

async function round(connect: string, root: string): Promise<Round> {
  const client = await connectCoordination({ connect, root });
  const workers: WorkerProc[] = [];
  try {
    const a = startWorker(connect, root, 'a');
    workers.push(a);
    const aId = await a.id;
    const runId = await enqueue(client, 'duties-hold', {});
    await until('A to hold the run', async (w) => (await runHolder(client, runId, w)) === aId);
    await until('A to lead the scheduler', async (w) => (await scheduler(client, w)) === aId);
    await until('A to own every partition', async (w) => (await owners(client, w)).every((o) => o === aId));
    const b = startWorker(connect, root, 'b');
    workers.push(b);
    const bId = await b.id;
    await until('the partitions to be shared', async (w) => {
      const o = await owners(client, w);
      return o.every((x) => x === aId || x === bId) && o.includes(aId) && o.includes(bId);
    });

    const killedAt = Date.now();
    const t0 = performance.now();
    await killHard(a);
    const [run, sched, parts] = await Promise.all([
      until('the run to be claimed by B', async (w) => (await runHolder(client, runId, w)) === bId),
      until('B to lead the scheduler', async (w) => (await scheduler(client, w)) === bId),
      until('B to own every partition', async (w) => (await owners(client, w)).every((o) => o === bId)),
    ]);
    // B fires every tick it missed (they are within the misfire grace), late: wait for the
    // first one due after the kill, then take the worst lateness around the kill.
    const firesDir = `/schedules/duties-tick/fires`;
    const firstDue = Math.floor(killedAt / 1_000) * 1_000 + 1_000;
    await until('B to fire the first tick due after the kill', async (w) => (await client.exists(`${firesDir}/f-${String(firstDue).padStart(13, '0')}`, w)) !== null);
    let cronLate = 0;
    for (const f of await client.children(firesDir)) {
      const due = Number(f.slice(2));
      if (due < killedAt - 1_000) continue; // fired by A, on time
      const stat = await client.exists(`${firesDir}/${f}`);
      if (stat) cronLate = Math.max(cronLate, stat.ctime - due);
    }
    return { run: run - t0, scheduler: sched - t0, partitions: parts - t0, cronLate };
  } finally {
    await Promise.all(workers.map((w) => killHard(w)));
    await client.close();
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

async function backend(name: string): Promise<void> {
  let connect: string;
  let stop: () => Promise<void>;
  if (name === 'drover') {
    const e = await startDroverEnsemble(3, { tickTime: TICK_MS });
    connect = e.clientPorts.map((p) => `127.0.0.1:${p}`).join(',');
    stop = () => e.stop();
  } else if (name === 'zookeeper') {
    if (!apacheZkAvailable()) {
      process.stdout.write('zookeeper: skipped (Apache ZooKeeper is not installed: apt-get install -y zookeeper)\n');
      return;
    }
    const t = await startApacheZk({ tickTime: TICK_MS });
    connect = t.connectString;
    stop = () => t.stop();
  } else {
    throw new Error(`BENCH_BACKENDS: unknown backend '${name}' (drover, zookeeper)`);
  }
  const rounds: Round[] = [];
  try {
    for (let i = 1; i <= REPEAT; i++) {
      const r = await round(connect, `/duties-${i}`);
      rounds.push(r);
      const ms = (x: number) => `${Math.round(x)} ms`;
      process.stdout.write(`  ${name} #${i}: run ${ms(r.run)}, scheduler ${ms(r.scheduler)}, partitions ${ms(r.partitions)}, cron late ${ms(r.cronLate)}\n`);
    }
  } finally {
    await stop();
  }
  const med = (k: keyof Round) => `${Math.round(median(rounds.map((r) => r[k])))} ms`;
  process.stdout.write(
    `${name} (tickTime ${TICK_MS}, session ${SESSION_TIMEOUT ?? 'default'}), median of ${rounds.length}: kill -9 -> run re-claimed ${med('run')}, ` +
      `scheduler re-elected ${med('scheduler')}, partitions owned again ${med('partitions')}; worst cron tick late ${med('cronLate')}\n`,
  );
}

process.stdout.write(`failover duties: kill -9 of a worker holding a run, the scheduler and partitions (drover: 3 members)\n`);
for (const b of BACKENDS) await backend(b);
