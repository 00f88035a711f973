/**
 * `npm run bench:cli` (and part of `npm run bench`): how long the installed
 * CLI (dist/bin/drover.js, as `npm pack` ships it; `npm run build` first)
 * takes to answer, each command a fresh process as a person runs it.
 *
 *   drover --help     start, print, exit (no connection)
 *   drover status     on a small cluster: a 3-member Drover ensemble (real
 *                     processes), one worker running the examples, a few
 *                     runs in history; connect, read, print the tables, exit
 *
 * Medians of BENCH_CLI_REPEAT (11) runs; goals from issue 9: --help under
 * 300 ms, status under 500 ms.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectCoordination } from '../shared/client/zk-client.ts';
import { enqueue } from '../shared/jobs/enqueue.ts';
import { startProcessEnsemble } from '../test/helpers/ensemble-processes.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const CLI = path.join(REPO, 'dist', 'bin', 'drover.js');
const REPEAT = Number(process.env['BENCH_CLI_REPEAT'] ?? 11);

function timeCommand(args: string[], env: Record<string, string> = {}): Promise<number> {
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } }, (err) => {
      if (err) reject(err);
      else resolve(Number(process.hrtime.bigint() - started) / 1e6);
    });
  });
}

async function median(what: string, args: string[], env: Record<string, string> = {}): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < REPEAT; i++) times.push(await timeCommand(args, env));
  times.sort((a, b) => a - b);
  const m = times[Math.floor(times.length / 2)] as number;
  console.log(`  ${what.padEnd(16)} median ${m.toFixed(0).padStart(5)} ms  (min ${(times[0] as number).toFixed(0)}, max ${(times[times.length - 1] as number).toFixed(0)}, ${REPEAT} runs)`);
  return m;
}

async function main(): Promise<void> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  console.log('CLI start-up (dist/bin/drover.js, a fresh process per command)');
  const help = await median('drover --help', ['--help']);
  const ensemble = await startProcessEnsemble('drover', 3, 500);
  const root = '/drover';
  const worker = spawn(process.execPath, [CLI, 'worker', '--connect', ensemble.connectString, '--root', root, '--jobs', path.join(REPO, 'dist', 'examples', 'image-pipeline.js')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  try {
    await ensemble.settle();
    await new Promise<void>((resolve, reject) => {
      let err = '';
      worker.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        if (err.includes(' running ')) resolve();
      });
      worker.once('exit', (code) => reject(new Error(`worker exited (${code}): ${err}`)));
    });
    const client = await connectCoordination({ connect: ensemble.connectString, root });
    for (let i = 0; i < 5; i++) await enqueue(client, 'image-pipeline', { url: `https://example.com/${i}.jpg`, sizes: [16] });
    await client.close();
    const status = await median('drover status', ['status'], { DROVER_CONNECT: ensemble.connectString, DROVER_ROOT: root });
    console.log(`  goals: --help < 300 ms (${help < 300 ? 'met' : 'missed'}), status < 500 ms (${status < 500 ? 'met' : 'missed'})`);
  } finally {
    worker.kill('SIGTERM');
    await ensemble.stop();
  }
}

await main();
