/**
 * `drover dev` (what `npm start` runs): a whole Drover cluster on this
 * machine. An embedded 3-member ensemble (in-process members, real TCP
 * between them, state under ./.drover/member-N so a restart resumes), three
 * worker processes running every example, a producer that keeps enqueueing
 * example runs, and the dashboard. Ctrl-C stops everything: producer,
 * workers (SIGTERM, then waited for), dashboard, members; exit 0.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createRootLogger } from '../coordinator/base/log.ts';
import { DEV_SNAP_SIZE_LIMIT_KB, defaultConfig, type RunningMember } from '../coordinator/index.ts';
import { startEnsembleMember } from '../coordinator/member/ensemble-member.ts';
import { startDashboard } from '../dashboard/index.ts';
import type { Coordination } from '../shared/client/coordination.ts';
import { DroverError } from '../shared/errors.ts';
import { DEFAULT_ROOT } from '../shared/jobs/layout.ts';
import { connectForCli, reportError } from './cli-connect.ts';
import { DEFAULT_DASHBOARD_PORT } from './dashboard-command.ts';
import { startDemoProducer, type DemoProducer } from './demo-producer.ts';
import { componentLogger } from '../shared/log.ts';

const HELP = `drover dev — a local cluster: 3 members, 3 workers, the examples, the dashboard

Usage: drover dev [options]        (\`npm start\` in Drover's own repository)

  --port-base N        client ports N, N+1, N+2 and quorum ports N+10..N+12
                       (default 2181; env DROVER_DEV_PORT_BASE)
  --dashboard-port N   the dashboard's port (default ${DEFAULT_DASHBOARD_PORT}; env DROVER_DASHBOARD_PORT; 0 picks one)
  --dir DIR            where the members keep their state (default ./.drover)
  --jobs FILE          your job files (comma-separated and/or repeated) for the workers
                       instead of the examples; no example producer then
  --workers N          worker processes (default 3)
  --no-producer        do not enqueue example runs
  --log-level LEVEL    pino level for the members and workers (default warn; env DROVER_LOG_LEVEL)
  -h, --help           show this help

Ctrl-C stops everything. Run it again and the cluster resumes where it stopped.
`;

const MEMBERS = 3;
const TICK_MS = 500;

interface Options {
  portBase: number;
  dashboardPort: number;
  dir: string;
  workers: number;
  producer: boolean;
  /** The user's job files; none means the examples. */
  jobs: string[];
  logLevel: string;
}

function readOptions(args: string[]): Options | null {
  const { values } = parseArgs({
    args,
    options: {
      'port-base': { type: 'string' },
      'dashboard-port': { type: 'string' },
      dir: { type: 'string' },
      workers: { type: 'string' },
      jobs: { type: 'string', multiple: true },
      'no-producer': { type: 'boolean' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return null;
  const int = (flag: string, text: string | undefined, fallback: number, min: number, max: number): number => {
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!Number.isInteger(n) || n < min || n > max) throw new DroverError('DROVER_CONFIG', `${flag} wants a whole number in ${min}..${max}, not '${text}'`);
    return n;
  };
  return {
    portBase: int('--port-base', values['port-base'] ?? process.env['DROVER_DEV_PORT_BASE'], 2181, 1024, 65_500),
    dashboardPort: int('--dashboard-port', values['dashboard-port'] ?? process.env['DROVER_DASHBOARD_PORT'], DEFAULT_DASHBOARD_PORT, 0, 65_535),
    dir: path.resolve(values.dir ?? '.drover'),
    workers: int('--workers', values.workers, 3, 0, 16),
    jobs: (values.jobs ?? []).flatMap((list) => list.split(',')).filter((f) => f.trim() !== '').map((f) => path.resolve(f.trim())),
    producer: !values['no-producer'] && (values.jobs ?? []).length === 0,
    logLevel: values['log-level'] ?? process.env['DROVER_LOG_LEVEL'] ?? 'warn',
  };
}

/** Compiled (dist/bin/*.js, the package) or the TypeScript sources under tsx (a checkout). */
const EXT = import.meta.url.endsWith('.ts') ? '.ts' : '.js';

/** Every example job file (examples/*.ts, or dist/examples/*.js in the package), for the workers' --jobs. */
export async function exampleFiles(): Promise<string[]> {
  const dir = path.resolve(import.meta.dirname, '..', 'examples');
  const names = await readdir(dir).catch(() => [] as string[]);
  const isJobFile = (n: string): boolean => n.endsWith(EXT) && !n.endsWith('.d.ts') && !n.endsWith('.test.ts') && !n.startsWith('_');
  return names.filter(isJobFile).sort().map((n) => path.join(dir, n));
}

/** The first of the ports that cannot be listened on at 127.0.0.1 (in use), or null when all can. */
async function portInUse(ports: number[]): Promise<number | null> {
  const free = (port: number) =>
    new Promise<boolean>((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
  for (const port of ports) if (!(await free(port))) return port;
  return null;
}

/**
 * Starts the 3 members, all or none: when one fails, those that started are
 * stopped before the error is thrown (they would keep their ports, and the
 * process, alive).
 */
async function startMembers(opts: Options, log: ReturnType<typeof createRootLogger>): Promise<RunningMember[]> {
  const servers = Array.from({ length: MEMBERS }, (_, i) => ({
    id: i + 1,
    host: '127.0.0.1',
    quorumPort: opts.portBase + 10 + i,
    electionPort: opts.portBase + 10 + i,
    role: 'participant' as const,
    clientPort: opts.portBase + i,
  }));
  const started = await Promise.allSettled(
    servers.map(async (s) => {
      const dataDir = path.join(opts.dir, `member-${s.id}`);
      await mkdir(dataDir, { recursive: true });
      // As ZooKeeper: dataDir/myid says which server.N this is.
      const myid = path.join(dataDir, 'myid');
      if ((await readFile(myid, 'utf8').catch(() => null)) === null) await writeFile(myid, `${s.id}\n`);
      const config = defaultConfig({
        dataDir,
        dataLogDir: dataDir,
        clientPort: s.clientPort,
        clientPortAddress: '127.0.0.1',
        tickTime: TICK_MS,
        initLimit: 10,
        syncLimit: 5,
        minSessionTimeout: 2 * TICK_MS,
        maxSessionTimeout: 20 * TICK_MS,
        fourLetterWhitelist: '*',
        snapSizeLimitInKb: DEV_SNAP_SIZE_LIMIT_KB,
        servers,
      });
      return startEnsembleMember(config, s.id, log.child({ member: s.id }));
    }),
  );
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  const members = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  if (!failed) return members;
  await Promise.all(members.map((m) => m.stop().catch(() => undefined)));
  throw failed.reason;
}

interface WorkerProcess {
  name: string;
  child: ChildProcess;
  exited: Promise<void>;
  /** Resolves once the worker has published its jobs (its "running" line), or has exited. */
  ready: Promise<void>;
}

function startWorker(n: number, connect: string, jobs: string[], logLevel: string): WorkerProcess {
  // The CLI this command runs in: bin/drover.mjs loads the sources through tsx.
  const entry = path.resolve(import.meta.dirname, EXT === '.ts' ? 'drover.mjs' : 'drover.js');
  // Worker lines are pretty when a person watches this terminal (the pipe would make them JSON).
  const pretty = process.stderr.isTTY && process.env['DROVER_LOG_PRETTY'] === undefined ? { DROVER_LOG_PRETTY: '1' } : {};
  const name = `worker-${n}`;
  const child = spawn(process.execPath, [entry, 'worker', '--connect', connect, '--root', DEFAULT_ROOT, '--name', name, ...jobs.flatMap((f) => ['--jobs', f])], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, DROVER_LOG_LEVEL: logLevel, ...pretty },
  });
  const prefix = (chunk: Buffer) =>
    chunk
      .toString('utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => `[${name}] ${l}\n`)
      .join('');
  child.stdout?.on('data', (c: Buffer) => process.stdout.write(prefix(c)));
  const exited = once(child, 'exit').then(() => undefined);
  let seen = '';
  const ready = new Promise<void>((resolve) => {
    child.stderr?.on('data', (c: Buffer) => {
      process.stderr.write(prefix(c));
      if (seen !== 'ready') {
        seen = (seen + c.toString('utf8')).slice(-4096);
        if (/drover worker: w-\d+ running/.test(seen)) {
          seen = 'ready';
          resolve();
        }
      }
    });
    void exited.then(() => resolve());
  });
  return { name, child, exited, ready };
}

async function stopWorker(w: WorkerProcess, graceMs: number): Promise<void> {
  if (w.child.exitCode !== null || w.child.signalCode !== null) return;
  w.child.kill('SIGTERM');
  const timer = setTimeout(() => w.child.kill('SIGKILL'), graceMs);
  await w.exited;
  clearTimeout(timer);
}

export async function run(args: string[]): Promise<number> {
  let opts: Options | null;
  try {
    opts = readOptions(args);
  } catch (err) {
    return reportError('dev', err);
  }
  if (!opts) {
    process.stdout.write(HELP);
    return 0;
  }
  const log = createRootLogger({ level: opts.logLevel, stderr: true });
  const members: RunningMember[] = [];
  const workers: WorkerProcess[] = [];
  let client: Coordination | undefined;
  let producer: DemoProducer | undefined;
  let dashboard: Awaited<ReturnType<typeof startDashboard>> | undefined;
  let stopping = false;
  let stopRequested!: () => void;
  const stop = new Promise<void>((r) => (stopRequested = r));
  const onSignal = () => {
    if (!stopping) process.stderr.write('\ndrover dev: stopping…\n');
    stopping = true;
    stopRequested();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    // Before anything is made: a mistyped path must not leave a state directory and a running ensemble.
    for (const f of opts.jobs) if (!existsSync(f)) throw new DroverError('DROVER_CONFIG', `job file ${f} does not exist`);
    await mkdir(opts.dir, { recursive: true });
    const base = opts.portBase;
    const portsInUse = (which: string, cause?: unknown) =>
      new DroverError('DROVER_CONFIG', `${which} of the dev ensemble (${base}..${base + 2}, ${base + 10}..${base + 12}) is in use — is another \`drover dev\` or ZooKeeper running? Stop it, or pass --port-base N`, cause === undefined ? {} : { cause });
    // Checked before any member starts: a member whose client port is taken fails half-started, holding its other port.
    const busy = await portInUse([0, 1, 2, 10, 11, 12].map((d) => base + d));
    if (busy !== null) throw portsInUse(`port ${busy}`);
    try {
      members.push(...(await startMembers(opts, log)));
    } catch (err) {
      if (/EADDRINUSE|address already in use/i.test(String((err as Error)?.message ?? err))) throw portsInUse('a port', err);
      if (/in use by process|LOCK/.test(String((err as Error)?.message ?? err))) {
        throw new DroverError('DROVER_CONFIG', `${opts.dir} is in use by another \`drover dev\` (stop it, or pass --dir DIR)`, { cause: err });
      }
      throw err;
    }
    const connect = members.map((m) => `127.0.0.1:${m.port}`).join(',');
    process.stderr.write(`drover dev: ensemble of ${MEMBERS} members on ${connect} (state in ${opts.dir})\n`);
    client = await connectForCli({ connect, root: DEFAULT_ROOT, connectTimeoutMs: 30_000, createRoot: true });
    const jobs = opts.jobs.length > 0 ? opts.jobs : await exampleFiles();
    if (jobs.length === 0) process.stderr.write(`drover dev: no example job files in ${path.resolve(import.meta.dirname, '..', 'examples')}; workers start with no jobs\n`);
    for (let i = 1; i <= opts.workers && !stopping; i++) workers.push(startWorker(i, connect, jobs, opts.logLevel));
    for (const w of workers) {
      void w.exited.then(() => {
        if (!stopping) process.stderr.write(`drover dev: ${w.name} exited (code ${w.child.exitCode ?? w.child.signalCode})\n`);
      });
    }
    // The banner says the cluster is ready: its jobs are published, so an enqueue right after it finds them.
    await Promise.race([Promise.all(workers.map((w) => w.ready)), stop]);
    if (stopping) return 0;
    dashboard = await startDashboard({ client, connect, logger: log, port: opts.dashboardPort });
    if (opts.producer) producer = startDemoProducer({ client, logger: componentLogger(log, 'producer') });
    process.stdout.write(`\n  Drover is running.\n\n  Dashboard:  ${dashboard.url}\n  Connect:    ${connect}  (drover status --connect ${connect})\n  Workers:    ${workers.length} processes running ${opts.jobs.length > 0 ? jobs.map((f) => path.relative(process.cwd(), f)).join(', ') : `${jobs.length} example files`}\n\n  Ctrl-C stops everything.\n\n`);
    await stop;
    return 0;
  } catch (err) {
    return reportError('dev', err);
  } finally {
    stopping = true;
    await producer?.stop();
    await Promise.all(workers.map((w) => stopWorker(w, 10_000)));
    await dashboard?.app.close();
    await client?.close();
    await Promise.all(members.map((m) => m.stop()));
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
