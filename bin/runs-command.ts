/**
 * `drover runs list|get|cancel|retry`: a job's runs a page at a time by
 * state and cursor (run-pages.ts: a page reads what it shows, never the
 * backlog), one run's record, and the operator's actions (run-admin.ts).
 */
import { parseArgs } from 'node:util';
import type { Coordination } from '../shared/client/coordination.ts';
import { DroverError } from '../shared/errors.ts';
import type { RunRecord } from '../shared/jobs/job-types.ts';
import { layout, NAME_PATTERN } from '../shared/jobs/layout.ts';
import { cancelRun, getRun, retryRun } from '../shared/jobs/run-admin.ts';
import { listRunPage, PAGE_LIMIT_DEFAULT, PAGE_LIMIT_MAX, PAGE_STATES, pageStateOf, type PageState } from '../shared/jobs/run-pages.ts';
import { formatTable } from './cli-table.ts';
import { CONNECT_HELP, CONNECT_OPTIONS, connectForCli, connectString, reportError, rootPath } from './cli-connect.ts';

const DEFAULT_STATE: PageState = 'waiting';

const HELP = `drover runs — list, read, cancel and retry a job's runs

Usage: drover runs list JOB [--state S] [--limit N] [--cursor C] [--json]
       drover runs get JOB RUN [--json]
       drover runs cancel JOB RUN [--json]
       drover runs retry JOB RUN [--json]

  list               one page of JOB's runs in one state, in that state's order
                     (waiting: claim order; finished and its parts: newest first);
                     the last line gives the command for the next page
  get                the run's record as JSON (input, result, error, attempts, logs)
  cancel             cancel a queued or delayed run; an active one is asked to stop
  retry              run a dead, failed or cancelled run again
  --state S          ${PAGE_STATES.join(', ')} (default ${DEFAULT_STATE};
                     queued, the state its runs show, is the same as waiting)
  --limit N          runs per page, 1..${PAGE_LIMIT_MAX} (default ${PAGE_LIMIT_DEFAULT})
  --cursor C         the page after the one that printed C
  --json             list: { runs, next } (next is null on the last page);
                     get: the record on one line; cancel, retry: { job, run, outcome }
${CONNECT_HELP}

Exit codes: 0 done, 1 refused or not found (the error's code is printed), 2 bad usage.
`;

export async function run(args: string[]): Promise<number> {
  let client: Coordination | undefined;
  try {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: { ...CONNECT_OPTIONS, state: { type: 'string' }, limit: { type: 'string' }, cursor: { type: 'string' }, json: { type: 'boolean' } },
    });
    const [verb, job, runId, ...extra] = positionals;
    if (values.help || !verb) {
      process.stdout.write(HELP);
      return values.help ? 0 : 2;
    }
    if (!['list', 'get', 'cancel', 'retry'].includes(verb)) throw new DroverError('DROVER_INVALID_ARGUMENT', `unknown runs command '${verb}': use list, get, cancel or retry`);
    const wantsRun = verb !== 'list';
    if (!job || (wantsRun ? !runId || extra.length > 0 : runId !== undefined)) {
      throw new DroverError('DROVER_INVALID_ARGUMENT', wantsRun ? `give JOB and RUN: \`drover runs ${verb} JOB RUN\`` : 'give one JOB: `drover runs list JOB [--state S]`');
    }
    if (!NAME_PATTERN.test(job)) throw new DroverError('DROVER_INVALID_ARGUMENT', `'${job}' is not a job name`);
    // listRunPage checks the state and limit.
    // queued (the state its runs show) lists as waiting.
    const state = values.state === undefined ? DEFAULT_STATE : pageStateOf(values.state);
    const limit = values.limit === undefined ? undefined : Number(values.limit);
    client = await connectForCli({ connect: connectString(values.connect), root: rootPath(values.root) });
    const json = values.json === true;
    switch (verb) {
      case 'list': {
        // A job with neither a definition nor runs is most likely a typo or the wrong --root.
        const [spec, runs] = await Promise.all([client.exists(layout.job(job)), client.exists(layout.runs(job))]);
        if (spec === null && runs === null) throw new DroverError('DROVER_UNKNOWN_JOB', `no job '${job}' in ${client.root} (check the name, or --root)`);
        const page = await listRunPage(client, job, { state, ...(limit !== undefined ? { limit } : {}), cursor: values.cursor ?? null });
        if (json) {
          process.stdout.write(`${JSON.stringify(page)}\n`);
          return 0;
        }
        process.stdout.write(page.runs.length > 0 ? formatTable(['run', 'state', 'attempt', 'enqueued', 'started', 'finished', 'worker', 'error'], page.runs.map(row)) : `no ${state} runs of ${job}\n`);
        if (page.next !== null) process.stdout.write(`next page: drover runs list ${job} --state ${state}${limit !== undefined ? ` --limit ${limit}` : ''} --cursor ${page.next}\n`);
        return 0;
      }
      case 'get': {
        const record = await getRun(client, job, runId as string);
        process.stdout.write(`${json ? JSON.stringify(record) : JSON.stringify(record, null, 2)}\n`);
        return 0;
      }
      case 'cancel': {
        const outcome = await cancelRun(client, job, runId as string);
        process.stdout.write(json ? `${JSON.stringify({ job, run: runId, outcome })}\n` : outcome === 'cancelled' ? `cancelled ${runId}\n` : `cancel requested: the worker running ${runId} stops it\n`);
        return 0;
      }
      default: {
        await retryRun(client, job, runId as string);
        process.stdout.write(json ? `${JSON.stringify({ job, run: runId, outcome: 'queued' })}\n` : `queued ${runId} again\n`);
        return 0;
      }
    }
  } catch (err) {
    return reportError('runs', err);
  } finally {
    await client?.close();
  }
}

/** ISO time to the second, UTC; '' when unset. */
function time(ms: number | undefined): string {
  return ms === undefined ? '' : `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function row(r: RunRecord): (string | number | undefined)[] {
  // Counted attempts of the maximum; those before a retry (or handed back) are free, not "6/3".
  const attempts = `${r.attempt - (r.freeAttempts ?? 0)}/${r.maxAttempts}${r.freeAttempts ? ` +${r.freeAttempts} free` : ''}`;
  return [r.id, r.state, attempts, time(r.enqueuedAt), time(r.startedAt), time(r.finishedAt), r.worker, r.error ? truncate(`${r.error.code}: ${r.error.message.replace(/\s+/g, ' ')}`, 60) : ''];
}
