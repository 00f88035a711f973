/**
 * The `drover` CLI as a user runs it (real processes, the suite's Drover
 * ensemble): tree like zkCli, enqueue --wait to the end with its exit
 * code, status tables, --help everywhere, and errors that say what to do.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Coordination } from '../../shared/client/coordination.ts';
import { connectCoordination } from '../../shared/client/zk-client.ts';
import { startWorker, type Worker } from '../../worker/index.ts';
import { resizeImages } from './e2e-jobs.ts';
import { imagePipeline } from '../../examples/image-pipeline.ts';
import { layout } from '../../shared/jobs/layout.ts';

const ENTRY = path.resolve(import.meta.dirname, '..', '..', 'bin', 'drover.mjs');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function drover(args: string[], env: Record<string, string> = {}): Promise<Result> {
  return new Promise((resolve) => {
    execFile(process.execPath, [ENTRY, ...args], { env: { ...process.env, ...env }, timeout: 100_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const connect = inject('droverConnect');

describe.skipIf(!connect)('drover CLI', { timeout: 120_000 }, () => {
  const root = `/cli-${randomBytes(4).toString('hex')}`;
  let client: Coordination;
  let worker: Worker;
  const env = () => ({ DROVER_CONNECT: connect, DROVER_ROOT: root });

  beforeAll(async () => {
    client = await connectCoordination({ connect, root });
    worker = await startWorker({ client, jobs: [resizeImages, imagePipeline], name: 'cli' });
  }, 120_000);
  afterAll(async () => {
    await worker?.close({ graceMs: 0 });
    await client?.close();
  });

  it('tree: create, ls, get, set, stat, delete, as zkCli answers', async () => {
    const base = `${root}/notes`;
    expect((await drover(['tree', 'create', base, 'hello', '--connect', connect])).stdout).toBe(`Created ${base}\n`);
    await drover(['tree', 'create', `${base}/a`, '--connect', connect]);
    expect((await drover(['tree', 'ls', base, '--connect', connect])).stdout).toBe('[a]\n');
    expect((await drover(['tree', 'get', base, '--connect', connect])).stdout).toBe('hello\n');
    const set = await drover(['tree', 'set', base, 'bye', '--version', '0', '--connect', connect]);
    expect(set.stdout).toMatch(/dataVersion = 1/);
    const stale = await drover(['tree', 'set', base, 'again', '--version', '0', '--connect', connect]);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toBe(`drover tree: BAD_VERSION: ${base} is not at version 0: the node is at version 1\n`);
    expect((await drover(['tree', 'stat', base, '--connect', connect])).stdout).toMatch(/numChildren = 1/);
    expect((await drover(['tree', 'acl', base, '--connect', connect])).stdout).toBe("'world,'anyone\n: cdrwa\n");
    const notEmpty = await drover(['tree', 'delete', base, '--connect', connect]);
    expect(notEmpty.stderr).toMatch(/not empty.*-r/i);
    expect((await drover(['tree', 'delete', base, '-r', '--connect', connect])).code).toBe(0);
    const gone = await drover(['tree', 'get', base, '--connect', connect]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/Node does not exist/);
    // A missing node is an answer, not bad usage.
    const noStat = await drover(['tree', 'stat', base, '--connect', connect]);
    expect(noStat.code).toBe(1);
    expect(noStat.stderr).toBe(`drover tree: Node does not exist: ${base}\n`);
  });

  it('enqueue --wait follows the run to the end; the exit code says how it ended', async () => {
    const ok = await drover(['enqueue', 'resize-images', '{"images": 4}', '--wait'], env());
    expect(ok.code, ok.stderr).toBe(0);
    const [runId, result] = ok.stdout.trim().split('\n');
    expect(runId).toMatch(/^r-/);
    expect(JSON.parse(result as string)).toEqual({ resized: 4 });
    // Not a terminal: one plain line per change, ending with the final state.
    expect(ok.stderr).toMatch(/progress=\d+% image \d of 4/);
    expect(ok.stderr.trim().split('\n').pop()).toMatch(/^succeeded/);

    const bad = await drover(['enqueue', 'image-pipeline', '{"url": "https://images.example.com/x.jpg", "failFirst": 99}', '--wait'], env());
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/dead.*503/);
  });

  it("enqueue refuses input the job's published schema refuses, naming the field, and writes nothing", async () => {
    // This process's worker published image-pipeline's spec; the CLI process never loads the job file.
    const runsBefore = await client.children(layout.runs('image-pipeline'));
    const wrongType = await drover(['enqueue', 'image-pipeline', '{"url": 5}'], env());
    expect(wrongType.code).toBe(1);
    expect(wrongType.stderr).toMatch(/input\/url must be string.*\[DROVER_INVALID_PAYLOAD\]/);
    const missing = await drover(['enqueue', 'image-pipeline', '{"sizes": [64]}'], env());
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/required property 'url'/);
    const extra = await drover(['enqueue', 'image-pipeline', '{"url": "https://x.example/a.jpg", "size": 64}'], env());
    expect(extra.stderr).toMatch(/additional properties \('size'\)/);
    // No input at all: the message says so, beside what the schema wanted.
    const none = await drover(['enqueue', 'image-pipeline'], env());
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/input must be object \(no input was given: pass it as JSON, e\.g\. drover enqueue image-pipeline '\{"key": 1\}'\) \[DROVER_INVALID_PAYLOAD\]/);
    expect(wrongType.stdout + missing.stdout + extra.stdout + none.stdout).toBe('');
    expect(await client.children(layout.runs('image-pipeline'))).toEqual(runsBefore);
  });

  it('status shows the ensemble, workers and queues as tables', async () => {
    const res = await drover(['status'], env());
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/Ensemble/);
    expect(res.stdout).toMatch(/leader|follower/);
    expect(res.stdout).toContain(worker.id);
    expect(res.stdout).toMatch(/resize-images\s+\d+/);
  });

  it('status given one member finds the rest of the ensemble (conf membership)', async () => {
    const all = connect.split(',');
    const res = await drover(['status', '--json'], { DROVER_CONNECT: all[0] as string, DROVER_ROOT: root });
    expect(res.code, res.stderr).toBe(0);
    const { ensemble } = JSON.parse(res.stdout) as { ensemble: { host: string; port: number; up: boolean; stats?: { mode: string } }[] };
    expect(ensemble.map((m) => `${m.host}:${m.port}`).sort()).toEqual([...all].sort());
    expect(ensemble.every((m) => m.up)).toBe(true);
    expect(ensemble.filter((m) => m.stats?.mode === 'leader')).toHaveLength(1);
    // Named by another address, the member is not listed twice: the others are found by server id.
    const [host, port] = (all[0] as string).split(':') as [string, string];
    expect(host).toBe('127.0.0.1');
    const aliased = await drover(['status', '--json'], { DROVER_CONNECT: `localhost:${port}`, DROVER_ROOT: root });
    expect(aliased.code, aliased.stderr).toBe(0);
    const named = (JSON.parse(aliased.stdout) as { ensemble: { host: string; port: number; up: boolean }[] }).ensemble;
    expect(named.map((m) => `${m.host}:${m.port}`).sort()).toEqual([`localhost:${port}`, ...all.slice(1)].sort());
    expect(named.every((m) => m.up)).toBe(true);
  });

  it('reading under a mistyped root leaves no node behind', async () => {
    const typo = `/typo-${randomBytes(4).toString('hex')}`;
    for (const args of [['status'], ['jobs', 'list'], ['runs', 'list', 'x'], ['enqueue', 'x', '{}']]) await drover([...args, '--root', typo], { DROVER_CONNECT: connect });
    const top = await connectCoordination({ connect, root: '/' });
    try {
      expect(await top.exists(typo)).toBeNull();
    } finally {
      await top.close();
    }
  });

  it('errors say what to do next', async () => {
    const unknown = await drover(['enqueue', 'no-such-job'], env());
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no job 'no-such-job'.*drover worker --jobs/);
    const badJson = await drover(['enqueue', 'resize-images', '{oops'], env());
    expect(badJson.stderr).toMatch(/not JSON.*quote it/);
    const nobody = await drover(['status', '--connect', '127.0.0.1:1'], { DROVER_CONNECT_TIMEOUT_MS: '1500' });
    expect(nobody.code).not.toBe(0);
    expect(nobody.stderr).toMatch(/is a server running\? start one with `drover dev`.*--connect/);
    const typo = await drover(['tree', 'ls', '/', '--conect', connect]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/--conect.*drover tree --help/);
  });

  it('--help on each command', async () => {
    // In-process (each command module's run()), to spare a process start per command.
    for (const cmd of ['dashboard', 'enqueue', 'status', 'tree', 'dev', 'runs', 'jobs']) {
      const mod = (await import(`../../bin/${cmd}-command.ts`)) as { run(args: string[]): Promise<number> };
      let out = '';
      const write = process.stdout.write.bind(process.stdout);
      process.stdout.write = ((chunk: string | Uint8Array) => ((out += String(chunk)), true)) as typeof process.stdout.write;
      let code: number;
      try {
        code = await mod.run(['--help']);
      } finally {
        process.stdout.write = write;
      }
      expect(code, cmd).toBe(0);
      expect(out, cmd).toMatch(new RegExp(`drover ${cmd} —`));
    }
    const top = await drover(['--help']);
    expect(top.stdout).toMatch(/dashboard.*\n.*enqueue/s);
  });
});
