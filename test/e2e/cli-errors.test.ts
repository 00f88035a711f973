/**
 * The CLI after an error, as a user runs it (real processes, the suite's
 * Drover ensemble): a relative --root (or DROVER_ROOT) is bad usage on every
 * command that takes one, said plainly, and the process exits at once; the
 * connect helper leaves no session open when it refuses a root; `drover dev`
 * with a port of its ensemble taken stops and exits non-zero; an unknown
 * option is one short line; `drover dev` checks its job files before it
 * makes a state directory.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { freePortBase } from '../helpers/free-port-base.ts';

const REPO = path.resolve(import.meta.dirname, '..', '..');
const ENTRY = path.join(REPO, 'bin', 'drover.mjs');
const FIXTURE = path.join(REPO, 'test', 'framework', 'fixtures', 'worker-process-jobs.ts');

interface Result {
  /** null: still running after the timeout (killed). */
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function run(args: string[], opts: { env?: Record<string, string>; timeoutMs?: number; cwd?: string } = {}): Promise<Result> {
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: opts.cwd ?? REPO, env: { ...process.env, ...opts.env }, timeout: opts.timeoutMs ?? 20_000, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const e = err as { code?: unknown; killed?: boolean } | null;
      const code = !e ? 0 : e.killed ? null : typeof e.code === 'number' ? e.code : 1;
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

const connect = inject('droverConnect');

describe.skipIf(!connect)('drover CLI: errors end the process', { timeout: 120_000 }, () => {
  const commands: [string, string[]][] = [
    ['jobs', ['jobs', 'list']],
    ['status', ['status']],
    ['runs', ['runs', 'list', 'x']],
    ['enqueue', ['enqueue', 'x', '{}']],
    ['tree', ['tree', 'ls', '/']],
    ['dashboard', ['dashboard', '--port', '0']],
    ['worker', ['worker', '--jobs', FIXTURE]],
  ];

  it('a --root without a leading slash is bad usage (exit 2) on every command, and nothing hangs', async () => {
    const results = await Promise.all(commands.map(([, args]) => run([ENTRY, ...args, '--root', 'drover', '--connect', connect])));
    commands.forEach(([name, args], i) => {
      const res = results[i] as Result;
      expect(res.code, `${args.join(' ')}: ${res.stderr}`).toBe(2);
      expect(res.stderr).toBe(`drover ${name}: --root 'drover' is not an absolute path: give an absolute PATH, e.g. --root /drover [DROVER_INVALID_ARGUMENT]\n`);
    });
  });

  it('DROVER_ROOT is checked the same way', async () => {
    const results = await Promise.all(commands.map(([, args]) => run([ENTRY, ...args, '--connect', connect], { env: { DROVER_ROOT: 'a/b/' } })));
    commands.forEach(([name, args], i) => {
      const res = results[i] as Result;
      expect(res.code, `${args.join(' ')}: ${res.stderr}`).toBe(2);
      expect(res.stderr).toBe(`drover ${name}: DROVER_ROOT='a/b/' is not an absolute path: give an absolute PATH, e.g. --root /a/b [DROVER_INVALID_ARGUMENT]\n`);
    });
  });

  it('connectCoordination refuses a relative root before connecting, and leaves nothing open', async () => {
    // In a process of its own: a session left open would keep it alive past the timeout.
    const script = `
      import { connectCoordination } from './shared/client/zk-client.ts';
      for (const createRoot of [false, true]) {
        await connectCoordination({ connect: ${JSON.stringify(connect)}, root: 'drover', createRoot }).then(
          () => console.log('connected'),
          (err) => console.log(err.code),
        );
      }`;
    const res = await run(['--import', 'tsx', '--input-type=module', '-e', script], { timeoutMs: 15_000 });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toBe('DROVER_INVALID_ARGUMENT\nDROVER_INVALID_ARGUMENT\n');
  });

  it('an unknown option is bad usage, said in one short line, on commands with and without positionals', async () => {
    const [enqueue, status] = await Promise.all([run([ENTRY, 'enqueue', 'x', '{}', '--wiat', '--connect', connect]), run([ENTRY, 'status', '--bogus', '--connect', connect])]);
    expect(enqueue.code, enqueue.stderr).toBe(2);
    expect(enqueue.stderr).toBe("drover enqueue: Unknown option '--wiat' (see `drover enqueue --help`)\n");
    expect(status.code, status.stderr).toBe(2);
    expect(status.stderr).toBe("drover status: Unknown option '--bogus' (see `drover status --help`)\n");
  });

  it('drover dev with a job file that does not exist exits 2 before it makes anything', async () => {
    const cwd = await mkdtemp(path.join(os.tmpdir(), 'drover-dev-nofile-'));
    try {
      const res = await run([ENTRY, 'dev', '--jobs', 'nope.ts', '--port-base', String(await freePortBase()), '--dashboard-port', '0'], { cwd, timeoutMs: 30_000 });
      expect(res.code, res.stderr).toBe(2);
      expect(res.stderr).toBe(`drover dev: job file ${path.join(cwd, 'nope.ts')} does not exist [DROVER_CONFIG]\n`);
      // No ./.drover left behind, and no ensemble was started (its banner is not printed).
      expect(existsSync(path.join(cwd, '.drover'))).toBe(false);
    } finally {
      await rm(cwd, { recursive: true, force: true });
    }
  });

  it('drover dev with a port of its ensemble taken stops and exits non-zero', async () => {
    const base = await freePortBase();
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(base, '127.0.0.1', resolve));
    const cwd = await mkdtemp(path.join(os.tmpdir(), 'drover-dev-busy-'));
    try {
      const res = await run([ENTRY, 'dev', '--port-base', String(base), '--dashboard-port', '0', '--workers', '0', '--no-producer', '--dir', path.join(cwd, '.drover')], { cwd, timeoutMs: 30_000 });
      expect(res.code, res.stderr).toBe(2);
      expect(res.stderr).toMatch(new RegExp(`port ${base} of the dev ensemble .* is in use.*\\[DROVER_CONFIG\\]`));
      // Nothing of the ensemble is left listening.
      for (const port of [base + 1, base + 2, base + 10, base + 11, base + 12]) {
        const free = await new Promise<boolean>((resolve) => {
          const s = net.createServer();
          s.once('error', () => resolve(false));
          s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
        });
        expect(free, `port ${port}`).toBe(true);
      }
    } finally {
      await new Promise((resolve) => taken.close(resolve));
      await rm(cwd, { recursive: true, force: true });
    }
  });
});
