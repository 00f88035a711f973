/**
 * `drover enqueue JOB [JSON|@FILE|-] [--wait]`: puts one run on a job's queue and
 * prints its id; with --wait, follows the run with waitForRun (a watch on
 * its record, no polling) until it finishes, drawing each change, and exits
 * non-zero unless it succeeded. A bundled run (`<bundleId>.<k>`) is followed
 * in its bundle's record: the bundle's other runs change it too, so only
 * this run's changes are shown.
 */
import { readFile, stat } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { Coordination } from '../shared/client/coordination.ts';
import { DroverError, isDroverError } from '../shared/errors.ts';
import { enqueue } from '../shared/jobs/enqueue.ts';
import type { RunRecord } from '../shared/jobs/job-types.ts';
import { layout } from '../shared/jobs/layout.ts';
import { PAYLOAD_BYTES_MAX } from '../shared/jobs/limits.ts';
import { waitForRun } from '../shared/jobs/wait-for-run.ts';
import { CONNECT_HELP, CONNECT_OPTIONS, connectForCli, connectString, reportError, rootPath } from './cli-connect.ts';
import { progressBar, progressLine } from './progress-bar.ts';

const HELP = `drover enqueue — put a run of JOB on its queue

Usage: drover enqueue JOB [JSON | @FILE | -] [options]

  JSON               the run's input (default null), e.g. '{"width": 64}'; checked
                     against the job's published input schema before anything is written
  @FILE              the input from a file (for inputs too big for an argument)
  -                  the input from standard input
  --wait             follow the run until it ends (a progress bar on a terminal);
                     exit 0 if it succeeded, 1 if it failed, died or was cancelled
  --delay MS         not before MS milliseconds from now
  --priority N       0..9, lower runs first (default: the job's)
  --timeout MS       with --wait: give up waiting after MS (exit 3; the run goes on)
${CONNECT_HELP}
`;

export async function run(args: string[]): Promise<number> {
  let client: Coordination | undefined;
  try {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: { ...CONNECT_OPTIONS, wait: { type: 'boolean' }, delay: { type: 'string' }, priority: { type: 'string' }, timeout: { type: 'string' } },
    });
    if (values.help) {
      process.stdout.write(HELP);
      return 0;
    }
    const [job, json, ...extra] = positionals;
    if (!job || extra.length > 0) throw new DroverError('DROVER_INVALID_ARGUMENT', `give a job name and at most one input: JSON, @FILE or - (see \`drover enqueue --help\`)`);
    let input: unknown = null;
    if (json !== undefined) {
      const text = await inputText(json);
      try {
        input = JSON.parse(text);
      } catch (err) {
        const why = err instanceof Error ? err.message : String(err);
        throw new DroverError('DROVER_INVALID_PAYLOAD', json === '-' || json.startsWith('@') ? `the input in ${json === '-' ? 'standard input' : json.slice(1)} is not JSON (${why})` : `the input is not JSON (${why}); quote it for the shell: '{"key": 1}'`);
      }
    }
    const opts = {
      ...(values.delay !== undefined ? { delayMs: integer('--delay', values.delay) } : {}),
      ...(values.priority !== undefined ? { priority: integer('--priority', values.priority) } : {}),
    };
    client = await connectForCli({ connect: connectString(values.connect), root: rootPath(values.root) });
    if ((await client.exists(layout.job(job))) === null) {
      throw new DroverError('DROVER_UNKNOWN_JOB', `no job '${job}' in ${client.root}: start a worker that defines it (drover worker --jobs FILE), or check --root`);
    }
    const runId = await enqueue(client, job, input, opts).catch((err: unknown) => {
      // A job whose schema wants input, enqueued without any: say that, not only what the schema wanted.
      if (json === undefined && isDroverError(err, 'DROVER_INVALID_PAYLOAD')) {
        throw new DroverError('DROVER_INVALID_PAYLOAD', `${err.message} (no input was given: pass it as JSON, e.g. drover enqueue ${job} '{"key": 1}')`, { cause: err });
      }
      throw err;
    });
    process.stdout.write(`${runId}\n`);
    if (!values.wait) return 0;
    const timeoutMs = values.timeout !== undefined ? integer('--timeout', values.timeout) : undefined;
    const record = await follow(client, job, runId, timeoutMs);
    if (!record) {
      process.stderr.write(`drover enqueue: stopped waiting after ${timeoutMs} ms; the run goes on (${runId})\n`);
      return 3;
    }
    if (record.state === 'succeeded') {
      if (record.result !== undefined && record.result !== null) process.stdout.write(`${JSON.stringify(record.result)}\n`);
      return 0;
    }
    process.stderr.write(`drover enqueue: run ${runId} ${record.state}${record.error ? `: ${record.error.code} ${record.error.message}` : ''}\n`);
    return 1;
  } catch (err) {
    return reportError('enqueue', err);
  } finally {
    await client?.close();
  }
}

/**
 * Reading stops this far past the payload limit: room for whitespace the
 * encoding drops, without holding an endless pipe in memory.
 */
const INPUT_READ_MAX = 16 * PAYLOAD_BYTES_MAX;

/** The input's text: the argument itself, a file's contents (@FILE) or standard input (-). */
async function inputText(arg: string): Promise<string> {
  if (arg !== '-' && !arg.startsWith('@')) return arg;
  const tooLarge = (): DroverError =>
    new DroverError('DROVER_PAYLOAD_TOO_LARGE', `the input is over ${INPUT_READ_MAX} bytes; a run's input is at most ${PAYLOAD_BYTES_MAX} bytes of JSON`, { details: { limit: PAYLOAD_BYTES_MAX } });
  if (arg === '-') {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of process.stdin) {
      chunks.push(chunk as Buffer);
      size += (chunk as Buffer).length;
      if (size > INPUT_READ_MAX) throw tooLarge();
    }
    return Buffer.concat(chunks).toString('utf8');
  }
  const file = arg.slice(1);
  try {
    if ((await stat(file)).size > INPUT_READ_MAX) throw tooLarge();
    return await readFile(file, 'utf8');
  } catch (err) {
    if (err instanceof DroverError) throw err;
    throw new DroverError('DROVER_INVALID_ARGUMENT', `cannot read the input file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

function integer(flag: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new DroverError('DROVER_INVALID_ARGUMENT', `${flag} wants a whole number >= 0, not '${text}'`);
  return n;
}

/** Follows the run to its end with waitForRun, drawing each change; the finished record, or null after timeoutMs. */
async function follow(client: Coordination, job: string, runId: string, timeoutMs: number | undefined): Promise<RunRecord | null> {
  const tty = process.stderr.isTTY === true;
  let last = '';
  const show = (record: RunRecord): void => {
    const p = { state: record.state, attempt: record.attempt, ...(record.progress ? { pct: record.progress.pct, ...(record.progress.message ? { message: record.progress.message } : {}) } : {}) };
    const text = tty ? progressBar(p) : progressLine(p);
    if (text !== last) {
      process.stderr.write(tty ? `\r\x1b[2K${text}` : `${text}\n`);
      last = text;
    }
  };
  try {
    const record = await waitForRun(client, job, runId, { ...(timeoutMs !== undefined ? { timeoutMs } : {}), onUpdate: show });
    show(record);
    return record;
  } catch (err) {
    if (isDroverError(err, 'DROVER_WAIT_TIMEOUT')) return null;
    throw err;
  } finally {
    if (tty) process.stderr.write('\n');
  }
}
