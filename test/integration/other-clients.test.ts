/**
 * Unmodified clients other than node-zookeeper-client: kazoo (Python, from
 * Debian's python3-kazoo) and ZooKeeper's own C CLI (cli_mt, from Debian's
 * zookeeper-bin). Each runs the same session against Drover and against
 * Apache ZooKeeper 3.8; the transcripts must match.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import { startDrover } from '../helpers/drover-target.ts';
import { startApacheZk } from '../helpers/apache-zk.ts';
import type { Target } from '../helpers/target.ts';

const run = promisify(execFile);
const PYTHON = '/usr/bin/python3';
const CLI_MT = '/usr/lib/zookeeper/bin/cli_mt';
const KAZOO_SCRIPT = path.join(import.meta.dirname, 'clients', 'kazoo-session.py');

async function kazooTranscript(target: Target): Promise<unknown> {
  const { stdout } = await run(PYTHON, [KAZOO_SCRIPT, target.connectString, '/kazoo'], { timeout: 60_000 });
  return JSON.parse(stdout.trim().split('\n').pop() ?? 'null');
}

async function cli(target: Target, cmd: string): Promise<string> {
  // cli_mt splits its result across stdout and stderr; keep both, drop session chatter and timings.
  const { stdout, stderr } = await run(CLI_MT, ['-h', target.connectString, '-c', cmd], { timeout: 30_000 });
  return (stdout + stderr)
    .split('\n')
    .filter((l) => l.trim() !== '' && !/ZOO_|Watcher SESSION|Got a new session|^time = /.test(l))
    .sort()
    .join('\n');
}

async function cliTranscript(target: Target): Promise<string[]> {
  const lines: string[] = [];
  lines.push(await cli(target, 'create /cli'));
  lines.push(await cli(target, 'create /cli/child'));
  lines.push(await cli(target, 'ls /cli'));
  lines.push(await cli(target, 'get /cli'));
  lines.push(await cli(target, 'set /cli world'));
  lines.push(await cli(target, 'get /cli/none'));
  lines.push(await cli(target, 'delete /cli/child'));
  lines.push(await cli(target, 'delete /cli'));
  // Stats and session ids differ between servers; compare the shape of each line.
  return lines.map((l) =>
    l
      .replace(/0x[0-9a-f]+/gi, '0x#')
      .replace(/\b\d{6,}\b/g, '#')
      .replace(/([cm]time|[cmp]zxid)\s*=[^\n]*/gi, '$1=#')
      .trim(),
  );
}

describe('other unmodified clients', () => {
  let drover: Target;
  let zk: Target;
  beforeAll(async () => {
    [drover, zk] = await Promise.all([startDrover({}), startApacheZk({})]);
  });
  afterAll(async () => {
    await Promise.all([drover?.stop(), zk?.stop()]);
  });

  it('kazoo sees the same session on Drover as on ZooKeeper', async () => {
    const [d, z] = await Promise.all([kazooTranscript(drover), kazooTranscript(zk)]);
    expect(d).toEqual(z);
    expect(JSON.stringify(d)).toContain('"ruok","imok"');
  });

  it('the C CLI (cli_mt) sees the same results on Drover as on ZooKeeper', async () => {
    const d = await cliTranscript(drover);
    const z = await cliTranscript(zk);
    expect(d).toEqual(z);
    expect(d.join('\n')).toContain('child');
  });
});
