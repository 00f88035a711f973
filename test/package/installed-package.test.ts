/**
 * The product is the tarball `npm pack` makes. This installs it into two
 * fresh projects — one `"type": "commonjs"` as `npm init -y` writes it, one
 * `"type": "module"` — and uses it only as a user would: `tsc` with `tsc
 * --init`'s defaults, `drover worker` from node_modules/.bin on TypeScript
 * and JavaScript job files, on a pipe and on a pseudo-terminal (`script`),
 * and enqueue + waitForRun from `require('drover')` and from `import`.
 *
 * Offline: each project gets a lockfile made from this repo's own (the
 * runtime dependencies at the versions `npm ci` put in npm's cache), so
 * `npm ci --offline` needs no registry. The CommonJS project runs against
 * the suite's Drover ensemble, the ES module one against Apache ZooKeeper.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePortBase } from '../helpers/free-port-base.ts';

const REPO = path.resolve(import.meta.dirname, '..', '..');
const TSC = path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
const TMP = mkdtempSync(path.join(os.tmpdir(), 'drover-package-'));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], cwd: string, opts: { timeoutMs?: number; env?: Record<string, string> } = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, timeout: opts.timeoutMs ?? 120_000, maxBuffer: 64 << 20, env: { ...process.env, ...opts.env } }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

interface LockEntry {
  version?: string;
  dev?: boolean;
  devOptional?: boolean;
  dependencies?: Record<string, string>;
  [key: string]: unknown;
}

/**
 * Lock entries of this repo's runtime dependencies, plus the named dev
 * packages and what they need. Each gets its tarball's address (this repo's
 * lockfile records none), so `npm ci --offline` takes the tarball from the
 * cache by its integrity without asking the registry for the package's
 * metadata.
 */
function lockEntries(extra: string[], registry: string): Record<string, LockEntry> {
  const lock = JSON.parse(readFileSync(path.join(REPO, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const out: Record<string, LockEntry> = {};
  const strip = (e: LockEntry, key: string): LockEntry => {
    const { dev: _dev, devOptional: _devOptional, ...rest } = e;
    const name = key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length);
    const base = name.slice(name.lastIndexOf('/') + 1);
    if (rest['resolved'] === undefined && rest.version !== undefined) rest['resolved'] = `${registry.replace(/\/$/, '')}/${name}/-/${base}-${rest.version}.tgz`;
    return rest;
  };
  for (const [key, entry] of Object.entries(lock.packages)) if (key !== '' && !entry.dev) out[key] = strip(entry, key);
  const pending = extra.map((name) => `node_modules/${name}`);
  while (pending.length > 0) {
    const key = pending.pop() as string;
    const entry = lock.packages[key];
    if (!entry || out[key]) continue;
    out[key] = strip(entry, key);
    for (const dep of Object.keys(entry.dependencies ?? {})) {
      const nested = `${key}/node_modules/${dep}`;
      pending.push(lock.packages[nested] ? nested : `node_modules/${dep}`);
    }
  }
  return out;
}

function devVersion(name: string): string {
  const lock = JSON.parse(readFileSync(path.join(REPO, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  return lock.packages[`node_modules/${name}`]?.version as string;
}

type Kind = 'commonjs' | 'module';

/** `npm init -y`, then the tarball (+ @types/node, and pino-pretty in one of them) installed offline. */
async function makeProject(kind: Kind, tarball: string, withPretty: boolean): Promise<{ dir: string; install: Run }> {
  const dir = path.join(TMP, kind);
  mkdirSync(dir, { recursive: true });
  const init = await run('npm', ['init', '-y'], dir);
  expect(init.code, init.stderr).toBe(0);
  const pkgFile = path.join(dir, 'package.json');
  const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as Record<string, unknown>;
  expect(pkg['type'] ?? 'commonjs').toBe('commonjs');
  if (kind === 'module') pkg['type'] = 'module';
  copyFileSync(tarball, path.join(dir, 'drover.tgz'));
  const dev = ['@types/node', ...(withPretty ? ['pino-pretty'] : [])];
  pkg['dependencies'] = { drover: 'file:drover.tgz' };
  pkg['devDependencies'] = Object.fromEntries(dev.map((d) => [d, devVersion(d)]));
  writeFileSync(pkgFile, JSON.stringify(pkg, null, 2));
  const drover = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as Record<string, unknown>;
  const lock = {
    name: pkg['name'],
    version: pkg['version'],
    lockfileVersion: 3,
    requires: true,
    packages: {
      '': { name: pkg['name'], version: pkg['version'], dependencies: pkg['dependencies'], devDependencies: pkg['devDependencies'] },
      'node_modules/drover': {
        version: drover['version'],
        resolved: 'file:drover.tgz',
        license: drover['license'],
        dependencies: drover['dependencies'],
        bin: drover['bin'],
        engines: drover['engines'],
      },
      ...lockEntries(dev, (await run('npm', ['config', 'get', 'registry'], dir)).stdout.trim()),
    },
  };
  writeFileSync(path.join(dir, 'package-lock.json'), JSON.stringify(lock, null, 2));
  const install = await run('npm', ['ci', '--offline', '--no-audit', '--no-fund'], dir);
  return { dir, install };
}

const JOBS_TS = `import { defineJob, NonRetryableError } from 'drover';

export const double = defineJob<{ n: number }, { doubled: number }>({
  name: 'double',
  retries: 3,
  input: { type: 'object', properties: { n: { type: 'number' } }, required: ['n'] },
  async run(ctx, input) {
    ctx.log.info({ n: input.n }, 'doubling');
    if (input.n < 0) throw new NonRetryableError('negative numbers are refused');
    return { doubled: input.n * 2 };
  },
});
`;

const JOBS_CJS = `const { defineJob } = require('drover');
module.exports = defineJob({ name: 'double', run: (_ctx, input) => ({ doubled: input.n * 2 }) });
`;

const JOBS_MJS = `import { defineJob } from 'drover';
export default defineJob({ name: 'double', run: (_ctx, input) => ({ doubled: input.n * 2 }) });
`;

/** A client script: enqueue {n} by name and wait for its result, via require() or import. */
function enqueueScript(style: 'require' | 'import'): string {
  const body = `
  const client = await connectCoordination({ connect: process.env.CONNECT, root: process.env.ROOT });
  try {
    const runId = await enqueue(client, 'double', { n: Number(process.env.N) });
    const record = await waitForRun(client, 'double', runId, { timeoutMs: 60000 });
    console.log(JSON.stringify({ runId, state: record.state, result: record.result, attempt: record.attempt, error: record.error }));
  } finally {
    await client.close();
  }`;
  return style === 'require'
    ? `const { connectCoordination, enqueue, waitForRun } = require('drover');\n(async () => {${body}\n})().catch((e) => { console.error(e); process.exit(1); });\n`
    : `import { connectCoordination, enqueue, waitForRun } from 'drover';\n${body}\n`;
}

/** What a TypeScript user would type-check: every entry point, typed job, typed client calls. */
const CHECK_TS = `import { connectCoordination, defineJob, enqueue, waitForRun, isDroverError, type RunRecord } from 'drover';
import { LeaderElection } from 'drover/recipes';
import { startWorker } from 'drover/worker';

const job = defineJob<{ url: string }, { bytes: number }>({
  name: 'fetch',
  retries: 2,
  backoff: { type: 'exponential', delayMs: 100 },
  async run(ctx, input) {
    ctx.progress(50, input.url);
    return { bytes: input.url.length };
  },
});

export async function main(): Promise<RunRecord> {
  const client = await connectCoordination({ connect: '127.0.0.1:2181', root: '/drover' });
  const worker = await startWorker({ client, jobs: [job] });
  const election = new LeaderElection(client, '/election', { id: 'a' });
  void election;
  const runId: string = await job.enqueue(client, { url: 'https://example.com' });
  // The declarations are real types, not any: each of these must be refused.
  // @ts-expect-error the job's input is { url: string }
  await job.enqueue(client, { url: 5 });
  // @ts-expect-error startWorker wants job files or handles
  await startWorker({ client, jobs: 5 });
  // @ts-expect-error a recipe's options are typed
  void new LeaderElection(client, '/e', { id: 5 });
  await enqueue(client, 'fetch', { url: 'x' });
  try {
    return await waitForRun(client, 'fetch', runId, { timeoutMs: 1000 });
  } catch (err) {
    if (isDroverError(err)) throw new Error(err.code);
    throw err;
  } finally {
    await worker.close({ graceMs: 0 });
  }
}
`;

interface WorkerProc {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

/** `drover worker` from the project's node_modules/.bin, on a pipe or on a pseudo-terminal made by script(1). */
async function startWorkerProcess(dir: string, jobFile: string, connect: string, root: string, tty: boolean): Promise<WorkerProc> {
  const bin = path.join(dir, 'node_modules', '.bin', 'drover');
  const args = ['worker', '--jobs', jobFile, '--connect', connect, '--root', root, '--session-timeout', '4000'];
  const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  const child = tty
    ? // script(1) runs the command through $SHELL -c; `exec` makes drover the shell's replacement, so Ctrl-C reaches
      // only drover: dash (CI's /bin/sh) would otherwise die of the SIGINT itself and script would report 130.
      spawn('script', ['-qefc', `exec ${[bin, ...args].map(quote).join(' ')}`, '/dev/null'], { cwd: dir, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, SHELL: '/bin/sh', TERM: 'xterm' } })
    : spawn(bin, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const check = (): void => {
      if (/drover worker: w-\d+ running double/.test(output)) {
        child.stdout?.off('data', check);
        child.stderr?.off('data', check);
        resolve();
      }
    };
    child.stdout?.on('data', check);
    child.stderr?.on('data', check);
    void exited.then((code) => reject(new Error(`drover worker exited (${code}) before running:\n${output}`)));
  });
  return { child, output: () => output, exited };
}

/** Stops a worker as a person would: Ctrl-C on its terminal, SIGTERM on a pipe; it drains and exits 0. */
async function stopWorker(w: WorkerProc, tty: boolean): Promise<number | null> {
  if (tty) w.child.stdin?.write('\x03');
  else w.child.kill('SIGTERM');
  return w.exited;
}

const BACKENDS: Record<Kind, string> = { commonjs: inject('droverConnect'), module: inject('zookeeperConnect') };

let tarball = '';
let files: string[] = [];

beforeAll(async () => {
  const pack = await run('npm', ['pack', '--pack-destination', TMP], REPO, { timeoutMs: 240_000 });
  expect(pack.code, pack.stderr).toBe(0);
  tarball = path.join(TMP, (pack.stdout.trim().split('\n').pop() as string).trim());
  const list = await run('tar', ['tzf', tarball], TMP);
  files = list.stdout.split('\n').filter(Boolean);
}, 300_000);

afterAll(() => rmSync(TMP, { recursive: true, force: true }));

describe('the tarball', () => {
  it('holds compiled JavaScript with declarations, the README, LICENSE and docs, and no tests or TypeScript sources', () => {
    for (const f of ['package/dist/shared/index.js', 'package/dist/shared/index.d.ts', 'package/dist/bin/drover.js', 'package/dist/worker/index.d.ts', 'package/dist/shared/recipes/index.d.ts', 'package/dist/dashboard/ui/index.html', 'package/README.md', 'package/LICENSE', 'package/docs/errors.md']) {
      expect(files, f).toContain(f);
    }
    expect(files.filter((f) => /(^|\/)test\/|\.test\.|\.spec\./.test(f))).toEqual([]);
    expect(files.filter((f) => /\.[cm]?ts$/.test(f) && !/\.d\.[cm]?ts$/.test(f))).toEqual([]);
    expect(files.filter((f) => f.startsWith('package/bench/') || f.startsWith('package/node_modules/'))).toEqual([]);
  });
});

describe.each(['commonjs', 'module'] as const)('installed into a fresh "%s" project', (kind) => {
  const connect = BACKENDS[kind];
  const withPretty = kind === 'module';
  let dir = '';

  beforeAll(async () => {
    const made = await makeProject(kind, tarball, withPretty);
    dir = made.dir;
    expect(made.install.code, made.install.stderr).toBe(0);
    // Every dependency runs on the Node versions `engines` names.
    expect(made.install.stderr).not.toMatch(/EBADENGINE/);
    writeFileSync(path.join(dir, 'jobs.ts'), JOBS_TS);
    writeFileSync(path.join(dir, kind === 'module' ? 'jobs.js' : 'jobs.cjs'), kind === 'module' ? JOBS_MJS : JOBS_CJS);
    writeFileSync(path.join(dir, 'enqueue.cjs'), enqueueScript('require'));
    writeFileSync(path.join(dir, 'enqueue.mjs'), enqueueScript('import'));
  }, 300_000);

  it('type-checks with `tsc --init` defaults and module nodenext: 0 errors', async () => {
    const init = await run(process.execPath, [TSC, '--init', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--types', 'node'], dir);
    expect(init.code, init.stdout).toBe(0);
    // `tsc --init` sets verbatimModuleSyntax: in a CommonJS project ESM syntax then belongs in .mts files.
    writeFileSync(path.join(dir, kind === 'module' ? 'check.ts' : 'check.mts'), CHECK_TS);
    if (kind === 'commonjs') rmSync(path.join(dir, 'jobs.ts'));
    const tsc = await run(process.execPath, [TSC, '--noEmit', '-p', '.'], dir);
    if (kind === 'commonjs') writeFileSync(path.join(dir, 'jobs.ts'), JOBS_TS);
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.code).toBe(0);
  }, 120_000);

  it('loads every entry point with plain node, by require and by import, with no TypeScript loader', async () => {
    const names = ['drover', 'drover/worker', 'drover/recipes'];
    const required = await run(process.execPath, ['-e', `for (const n of ${JSON.stringify(names)}) console.log(n, Object.keys(require(n)).length)`], dir);
    expect(required.stderr).toBe('');
    const imported = await run(process.execPath, ['--input-type=module', '-e', `for (const n of ${JSON.stringify(names)}) console.log(n, Object.keys(await import(n)).length)`], dir);
    expect(imported.stderr).toBe('');
    expect(required.stdout).toBe(imported.stdout);
    expect(required.stdout).toMatch(/^drover \d+\ndrover\/worker \d+\ndrover\/recipes \d+\n$/);
    const help = await run(path.join(dir, 'node_modules', '.bin', 'drover'), ['--help'], dir);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^drover — /);
  });

  it('starts a worker on a job file of each extension, .ts .mts .cts .js .mjs .cjs', async () => {
    const esm = (name: string): string => `import { defineJob } from 'drover';\nexport default defineJob({ name: '${name}', run: () => 1 });\n`;
    const cjs = (name: string): string => `const { defineJob } = require('drover');\nmodule.exports = defineJob({ name: '${name}', run: () => 1 });\n`;
    // .ts and .js follow the project's "type"; TypeScript may use import syntax in a CommonJS file (tsx compiles it).
    const bodies: Record<string, string> = {
      'ext.ts': esm('double'),
      'ext.mts': esm('double'),
      'ext.cts': esm('double'),
      'ext.js': kind === 'module' ? esm('double') : cjs('double'),
      'ext.mjs': esm('double'),
      'ext.cjs': cjs('double'),
    };
    const root = `/pkg-${randomBytes(4).toString('hex')}`;
    for (const [file, body] of Object.entries(bodies)) {
      writeFileSync(path.join(dir, file), body);
      const worker = await startWorkerProcess(dir, file, connect, root, false);
      expect(await stopWorker(worker, false), `${file}: ${worker.output()}`).toBe(0);
      rmSync(path.join(dir, file));
    }
  }, 120_000);

  const cases = [
    { file: 'jobs.ts', tty: false, client: 'enqueue.cjs' },
    { file: 'jobs.ts', tty: true, client: 'enqueue.mjs' },
    { file: kind === 'module' ? 'jobs.js' : 'jobs.cjs', tty: false, client: 'enqueue.mjs' },
    { file: kind === 'module' ? 'jobs.js' : 'jobs.cjs', tty: true, client: 'enqueue.cjs' },
  ];
  it.each(cases)('drover worker --jobs $file (terminal: $tty) runs what $client enqueues and waits for', async ({ file, tty, client }) => {
    const root = `/pkg-${randomBytes(4).toString('hex')}`;
    const worker = await startWorkerProcess(dir, file, connect, root, tty);
    try {
      const res = await run(process.execPath, [client], dir, { timeoutMs: 90_000, env: { CONNECT: connect, ROOT: root, N: '21' } });
      expect(res.stderr).toBe('');
      expect(JSON.parse(res.stdout.trim()) as unknown).toMatchObject({ state: 'succeeded', result: { doubled: 42 } });
      if (file === 'jobs.ts' && !tty) {
        // The job's own copy of 'drover' made the NonRetryableError; the worker's copy honours it (retries: 3).
        const refused = await run(process.execPath, [client], dir, { timeoutMs: 90_000, env: { CONNECT: connect, ROOT: root, N: '-1' } });
        expect(JSON.parse(refused.stdout.trim()) as unknown).toMatchObject({ state: 'dead', attempt: 1, error: { message: 'negative numbers are refused' } });
      }
    } finally {
      const code = await stopWorker(worker, tty);
      expect(code, worker.output()).toBe(0);
    }
    const out = worker.output().replace(/\x1b\[[0-9;]*m/g, '');
    expect(out).not.toMatch(/unable to determine transport target|Error \[|TypeError/);
    const logLines = out.split(/\r?\n/).filter((l) => l.includes('"level"') || /\b(INFO|WARN|ERROR)\b/.test(l));
    if (tty && withPretty) {
      // pino-pretty is installed here: a person at the terminal reads one pretty line per event.
      expect(logLines.length).toBeGreaterThan(0);
      for (const l of logLines) expect(l.trimStart().startsWith('{')).toBe(false);
    } else {
      // JSON (a pipe, or no pino-pretty to load): one key once per line.
      for (const l of logLines.filter((x) => x.trimStart().startsWith('{'))) {
        for (const key of ['component', 'name', 'job', 'runId', 'worker']) {
          expect(l.split(`"${key}":`).length - 1, l).toBeLessThanOrEqual(1);
        }
      }
    }
  }, 120_000);

  it.runIf(kind === 'module')('drover dev --jobs jobs.ts: its own cluster, workers on the job file, the dashboard served from dist', async () => {
    const base = await freePortBase();
    const bin = path.join(dir, 'node_modules', '.bin', 'drover');
    const child = spawn(bin, ['dev', '--jobs', 'jobs.ts', '--workers', '1', '--port-base', String(base), '--dashboard-port', '0', '--dir', '.drover-test'], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', () => {
          const m = /Dashboard:\s+(http:\/\/\S+)/.exec(out);
          if (m?.[1]) resolve(m[1]);
        });
        void exited.then((code) => reject(new Error(`drover dev exited (${code}):\n${out}`)));
      });
      expect(out).toMatch(/running jobs\.ts/);
      for (const asset of ['', 'ui/app.js', 'ui/styles.css', 'vendor/uplot.js']) expect((await fetch(new URL(asset, url))).status, asset).toBe(200);
      const connect = [0, 1, 2].map((i) => `127.0.0.1:${base + i}`).join(',');
      const res = await run(bin, ['enqueue', 'double', '{"n":4}', '--wait', '--connect', connect], dir, { timeoutMs: 90_000 });
      expect(res.code, res.stderr).toBe(0);
      expect(res.stdout).toMatch(/"doubled":8/);
      const refused = await run(bin, ['enqueue', 'double', '{"n":"four"}', '--connect', connect], dir);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toMatch(/input\/n must be number.*DROVER_INVALID_PAYLOAD/);
    } finally {
      child.kill('SIGINT');
      expect(await exited, out).toBe(0);
      rmSync(path.join(dir, '.drover-test'), { recursive: true, force: true });
    }
  }, 180_000);
});
