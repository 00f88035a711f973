/**
 * `drover worker --jobs FILE [--jobs FILE2] ...`: runs a worker process
 * until SIGTERM/SIGINT, which drain it (stop claiming, let running attempts
 * finish within --grace, hand the rest back) and exit 0.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createRootLogger } from '../coordinator/base/log.ts';
import { DroverError } from '../shared/errors.ts';
import { startWorker } from '../worker/runtime.ts';
import { stopSignal } from './stop-signal.ts';
import { CONNECT_HELP, CONNECT_OPTIONS, connectString, reportError, rootPath } from './cli-connect.ts';

const HELP = `drover worker — run jobs from job files

Usage: drover worker --jobs FILE[,FILE2...] [options]

  --jobs FILE          job files (.ts .mts .cts .js .mjs .cjs) exporting defineJob({...}) jobs: a default
                       export, an array, or named exports; comma-separated and/or repeated
  --concurrency N      run slots of this worker (default: the sum of its jobs' concurrency)
  --no-schedule        do not stand as scheduler candidate (cron, recovery)
  --name X             a label for the logs
  --grace MS           on SIGTERM, how long running attempts may finish before they are handed back (default 10000)
  --session-timeout MS the session timeout to request (default 1200): how soon a crashed worker's runs,
                       partitions and scheduler move; the server clamps it to [2, 20] x its tickTime
  --inline             run handlers and partition loops on the main thread (benchmarks of no-op jobs
                       only: a CPU-bound handler or loop then starves the session)
  --log-level L        pino level (default info; env DROVER_LOG_LEVEL)
${CONNECT_HELP}
`;

function integer(flag: string, value: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new DroverError('DROVER_INVALID_ARGUMENT', `${flag} must be an integer >= ${min}, got '${value}'`);
  return n;
}

export async function run(args: string[]): Promise<number> {
  try {
    const { values } = parseArgs({
      args,
      options: {
        ...CONNECT_OPTIONS,
        jobs: { type: 'string', multiple: true },
        concurrency: { type: 'string' },
        'no-schedule': { type: 'boolean' },
        name: { type: 'string' },
        grace: { type: 'string' },
        'session-timeout': { type: 'string' },
        inline: { type: 'boolean' },
        'log-level': { type: 'string' },
      },
      strict: true,
    });
    if (values.help) {
      process.stdout.write(HELP);
      return 0;
    }
    const root = rootPath(values.root);
    const files = (values.jobs ?? []).flatMap((list) => list.split(',')).filter((f) => f.trim() !== '').map((f) => path.resolve(f.trim()));
    if (files.length === 0) throw new DroverError('DROVER_INVALID_ARGUMENT', 'give at least one job file: drover worker --jobs ./jobs.ts');
    for (const f of files) if (!existsSync(f)) throw new DroverError('DROVER_CONFIG', `job file ${f} does not exist`);
    const graceMs = values.grace !== undefined ? integer('--grace', values.grace, 0) : 10_000;
    const logger = createRootLogger({ ...(values['log-level'] ? { level: values['log-level'] } : {}), stderr: true });
    const connect = connectString(values.connect);
    // A signal during start-up drains the worker as soon as it has started.
    const stopped = stopSignal();
    const worker = await startWorker({
      connect,
      root,
      jobs: files,
      schedule: !values['no-schedule'],
      logger,
      ...(values.concurrency !== undefined ? { concurrency: integer('--concurrency', values.concurrency, 1) } : {}),
      ...(values['session-timeout'] !== undefined ? { sessionTimeoutMs: integer('--session-timeout', values['session-timeout'], 1) } : {}),
      ...(values.name ? { name: values.name } : {}),
      ...(values.inline ? { inline: true } : {}),
    });
    process.stderr.write(`drover worker: ${worker.id} running ${worker.jobs.join(', ')} on ${connect}${worker.client.root} (pid ${process.pid})\n`);
    const signal = await stopped;
    process.stderr.write(`drover worker: ${signal}: draining (grace ${graceMs} ms)\n`);
    await worker.close({ graceMs });
    process.stderr.write('drover worker: stopped\n');
    return 0;
  } catch (err) {
    return reportError('worker', err);
  }
}
