/**
 * Drover as a conformance target: an in-process standalone member on a free
 * port with a fresh data dir, or a real `drover server` child process for
 * tests that kill it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startStandalone, defaultConfig } from '../../coordinator/index.ts';
import { silentLogger } from '../../coordinator/base/log.ts';
import type { Target, TargetOptions } from './target.ts';

export async function startDrover(opts: TargetOptions = {}): Promise<Target> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'drover-test-'));
  const tickTime = opts.tickTime ?? 2000;
  const member = await startStandalone(
    defaultConfig({
      dataDir,
      dataLogDir: dataDir,
      clientPort: 0,
      clientPortAddress: '127.0.0.1',
      tickTime,
      minSessionTimeout: 2 * tickTime,
      maxSessionTimeout: 20 * tickTime,
      fourLetterWhitelist: '*',
      maxClientCnxns: opts.maxClientCnxns ?? 0,
      extendedTypesEnabled: opts.extendedTypesEnabled ?? false,
      containerCheckIntervalMs: opts.containerCheckIntervalMs ?? 60_000,
      ...(opts.superDigest ? { superDigest: opts.superDigest } : {}),
    }),
    silentLogger(),
  );
  return {
    name: 'drover',
    host: '127.0.0.1',
    port: member.port,
    connectString: `127.0.0.1:${member.port}`,
    async stop() {
      await member.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * `n` ports free now, distinct from each other and from `taken`: all are held
 * open until every one is found (freePort one after another can hand back a
 * port it just released, or one a configured server that is not running yet
 * owns), then released together.
 */
export async function freePorts(n: number, taken: Iterable<number> = []): Promise<number[]> {
  const avoid = new Set(taken);
  const held: net.Server[] = [];
  const ports: number[] = [];
  try {
    while (ports.length < n) {
      const s = net.createServer();
      held.push(s);
      const port = await new Promise<number>((resolve, reject) => {
        s.once('error', reject);
        s.listen(0, '127.0.0.1', () => resolve((s.address() as net.AddressInfo).port));
      });
      if (!avoid.has(port)) ports.push(port);
    }
    return ports;
  } finally {
    await Promise.all(held.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

export interface DroverProcess {
  port: number;
  child: ChildProcess;
  /** Resolves with the exit code or signal once the process is gone. */
  exited: Promise<number | string>;
  /** What it wrote to stderr so far (its logs at --log-level). */
  stderr(): string;
}

/** Runs `drover server` as a child process and waits until it serves. */
export async function spawnDroverServer(dataDir: string, port: number, extra: string[] = []): Promise<DroverProcess> {
  return spawnDrover(['--port', String(port), '--host', '127.0.0.1', '--data-dir', dataDir, ...extra], port);
}

/** The CLI from the sources, through tsx (tests need no build). */
export const SOURCE_BIN = path.resolve(import.meta.dirname, '../../bin/drover.mjs');

/**
 * Runs `drover server ARGS` (e.g. `--config zoo.cfg`) and waits until its client port listens.
 * `bin`: the CLI to run, the sources by default; the benchmarks run the build (`dist/bin/drover.js`).
 */
export async function spawnDrover(args: string[], port: number, bin = SOURCE_BIN): Promise<DroverProcess> {
  // DROVER_NODE_ARGS lets a benchmark profile the server (e.g. --cpu-prof).
  const nodeArgs = (process.env['DROVER_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, bin, 'server', '--log-level', process.env['DROVER_CHILD_LOG_LEVEL'] ?? 'warn', ...args], {
    stdio: ['ignore', process.env['DROVER_CHILD_LOGS'] ? 'inherit' : 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  if (process.env['DROVER_CHILD_LOGS']) child.stderr?.pipe(process.stderr);
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  await new Promise<void>((resolve, reject) => {
    const onData = (): void => {
      if (stderr.includes('serving ZooKeeper clients')) {
        child.stderr?.off('data', onData);
        resolve();
      }
    };
    child.stderr?.on('data', onData);
    void exited.then((code) => reject(new Error(`drover server exited (${code}) before serving:\n${stderr}`)));
  });
  return { port, child, exited, stderr: () => stderr };
}
