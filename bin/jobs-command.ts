/**
 * `drover jobs list|pause|resume|remove`: every job with its counts (from
 * O(1) sources, job-counts.ts) and the live workers serving it
 * (live-workers.ts); pausing and resuming a queue; removing a job no
 * worker serves any more (job-remove.ts).
 */
import { parseArgs } from 'node:util';
import type { Coordination } from '../shared/client/coordination.ts';
import { DroverError } from '../shared/errors.ts';
import { jobCounts, jobNames } from '../shared/jobs/job-counts.ts';
import { removeJob } from '../shared/jobs/job-remove.ts';
import { liveWorkers } from '../shared/jobs/live-workers.ts';
import { pauseJob, resumeJob } from '../shared/jobs/run-admin.ts';
import { formatTable } from './cli-table.ts';
import { CONNECT_HELP, CONNECT_OPTIONS, connectForCli, connectString, reportError, rootPath } from './cli-connect.ts';

const HELP = `drover jobs — the cluster's jobs: counts, pause, resume, remove

Usage: drover jobs list [--json]
       drover jobs pause JOB [--json]
       drover jobs resume JOB [--json]
       drover jobs remove JOB [--force] [--json]

  list               every job: the live workers serving it and its runs waiting,
                     active, delayed, succeeded, failed, cancelled and dead (a
                     bundle counts once, and once per final state its runs reached)
  pause, resume      stop and restart claims from JOB's queue (runs keep arriving)
  remove             delete every node of JOB under the root: its definition, queue,
                     runs, history, schedule, partitions, run groups. Refused while a
                     live worker lists JOB (stop it first) or while runs are active
  --force            remove even with runs in flight (e.g. left by workers that died)
  --json             machine-readable output
${CONNECT_HELP}

Exit codes: 0 done, 1 refused or not found (the error's code is printed), 2 bad usage.
`;

export async function run(args: string[]): Promise<number> {
  let client: Coordination | undefined;
  try {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { ...CONNECT_OPTIONS, force: { type: 'boolean' }, json: { type: 'boolean' } } });
    const [verb, job, ...extra] = positionals;
    if (values.help || !verb) {
      process.stdout.write(HELP);
      return values.help ? 0 : 2;
    }
    if (!['list', 'pause', 'resume', 'remove'].includes(verb)) throw new DroverError('DROVER_INVALID_ARGUMENT', `unknown jobs command '${verb}': use list, pause, resume or remove`);
    if (extra.length > 0 || (verb === 'list' ? job !== undefined : !job)) throw new DroverError('DROVER_INVALID_ARGUMENT', verb === 'list' ? '`drover jobs list` takes no JOB' : `give one JOB: \`drover jobs ${verb} JOB\``);
    client = await connectForCli({ connect: connectString(values.connect), root: rootPath(values.root) });
    const json = values.json === true;
    const say = (text: string, data: Record<string, unknown>): void => {
      process.stdout.write(json ? `${JSON.stringify(data)}\n` : `${text}\n`);
    };
    switch (verb) {
      case 'list':
        return await list(client, json);
      case 'pause':
        await pauseJob(client, job as string);
        say(`paused ${job}: its queue is not claimed until \`drover jobs resume ${job}\``, { job, paused: true });
        return 0;
      case 'resume':
        await resumeJob(client, job as string);
        say(`resumed ${job}`, { job, paused: false });
        return 0;
      default: {
        const removed = await removeJob(client, job as string, { force: values.force === true });
        say(`removed ${job} (${removed.nodes} znodes)`, { ...removed, removed: true });
        return 0;
      }
    }
  } catch (err) {
    return reportError('jobs', err);
  } finally {
    await client?.close();
  }
}

async function list(client: Coordination, json: boolean): Promise<number> {
  const [names, workers] = await Promise.all([jobNames(client), liveWorkers(client)]);
  const jobs = await Promise.all(
    names.map(async (job) => {
      const c = await jobCounts(client, job);
      const serving = workers.filter((w) => w.info?.jobs.includes(job)).map((w) => w.name);
      return { job, workers: serving, waiting: c.waiting, active: c.active, delayed: c.delayed, succeeded: c.succeeded, failed: c.failed, cancelled: c.cancelled, dead: c.dead, finished: c.finished, paused: c.paused };
    }),
  );
  if (json) {
    process.stdout.write(`${JSON.stringify({ jobs })}\n`);
    return 0;
  }
  process.stdout.write(
    jobs.length > 0
      ? formatTable(
          ['job', 'workers', 'waiting', 'active', 'delayed', 'succeeded', 'failed', 'cancelled', 'dead', 'paused'],
          jobs.map((j) => [j.job, j.workers.length, j.waiting, j.active, j.delayed, j.succeeded, j.failed, j.cancelled, j.dead, j.paused ? 'yes' : '']),
        )
      : `no jobs in ${client.root}: start a worker that defines some (drover worker --jobs FILE)\n`,
  );
  return 0;
}
