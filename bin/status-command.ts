/**
 * `drover status`: the ensemble (srvr/mntr of each member), the workers and
 * the queues, as tables. Reads cost what they show (design.md): the workers'
 * nodes and leases, the scheduler's state, and each job's counts from O(1)
 * sources (active: O(open claims), job-counts.ts); no run is read, nothing
 * outside the root is.
 */
import { parseArgs } from 'node:util';
import { startEnsembleProbe } from '../dashboard/ensemble/ensemble-probe.ts';
import { childrenOrEmpty } from '../shared/client/absent-ok.ts';
import type { Coordination } from '../shared/client/coordination.ts';
import { isZkError } from '../shared/client/zk-error.ts';
import { activeRuns, jobCounts, jobNames } from '../shared/jobs/job-counts.ts';
import { layout, sequenceOf } from '../shared/jobs/layout.ts';
import { claimsByWorker, liveWorkers } from '../shared/jobs/live-workers.ts';
import { silentLogger } from '../shared/log.ts';
import { formatTable } from './cli-table.ts';
import { CONNECT_HELP, CONNECT_OPTIONS, connectForCli, connectString, reportError, rootPath } from './cli-connect.ts';

const HELP = `drover status — the ensemble, workers and queues at a glance

Usage: drover status [options]

  --json             print one JSON object instead of tables
${CONNECT_HELP}
`;

export async function run(args: string[]): Promise<number> {
  let client: Coordination | undefined;
  try {
    const { values } = parseArgs({ args, options: { ...CONNECT_OPTIONS, json: { type: 'boolean' } } });
    if (values.help) {
      process.stdout.write(HELP);
      return 0;
    }
    const connect = connectString(values.connect);
    const root = rootPath(values.root);
    const probe = startEnsembleProbe({ connect, logger: silentLogger, intervalMs: 60_000 });
    const members = await probe.probe();
    probe.stop();
    client = await connectForCli({ connect, root });
    const jobs = await jobNames(client);
    const [workers, queues, scheduler] = await Promise.all([workersStatus(client, jobs), queuesStatus(client, jobs), schedulerStatus(client)]);
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ ensemble: members, workers, queues, scheduler }, null, 2)}\n`);
      return 0;
    }
    const out: string[] = [];
    out.push(`Ensemble (${connect})\n`);
    out.push(
      formatTable(
        ['member', 'mode', 'zxid', 'connections', 'latency min/avg/max', 'znodes'],
        members.map((m) => [`${m.host}:${m.port}`, m.up ? (m.stats?.mode ?? '?') : `down (${m.error ?? ''})`, m.stats?.zxid, m.stats?.connections, m.stats?.latency ? `${m.stats.latency.min}/${m.stats.latency.avg}/${m.stats.latency.max}` : '', m.stats?.nodeCount]),
      ),
    );
    out.push(`\nWorkers in ${client.root}${scheduler.leader ? ` (scheduler: ${scheduler.leader})` : ''}\n`);
    out.push(workers.length ? formatTable(['worker', 'host', 'pid', 'jobs', 'running', 'capacity'], workers.map((w) => [w.name, w.host, w.pid, w.jobs.join(','), w.running.length, w.capacity])) : 'none: start one with `drover worker --jobs FILE`\n');
    out.push(`\nQueues\n`);
    out.push(
      queues.length
        ? formatTable(['job', 'waiting', 'active', 'delayed', 'succeeded', 'failed', 'cancelled', 'dead', 'paused'], queues.map((q) => [q.job, q.depth, q.inflight, q.delayed, q.succeeded, q.failed, q.cancelled, q.dead, q.paused ? 'yes' : '']))
        : 'none\n',
    );
    process.stdout.write(out.join(''));
    return members.some((m) => m.up) ? 0 : 1;
  } catch (err) {
    return reportError('status', err);
  } finally {
    await client?.close();
  }
}

/** Each live worker with the claims it holds (its leases; a bundle is one claim, a claim group's runs one each). */
async function workersStatus(client: Coordination, jobs: string[]) {
  const [workers, claims] = await Promise.all([liveWorkers(client), claimsByWorker(client, jobs)]);
  return workers.map((w) => {
    const running = claims.get(w.name) ?? [];
    const capacity = w.info?.capacity;
    return {
      name: w.name,
      ...(w.info ? { host: w.info.host, pid: w.info.pid, capacity: w.info.capacity, startedAt: w.info.startedAt } : {}),
      jobs: w.info?.jobs ?? [],
      draining: w.info?.draining === true,
      session: w.session,
      running,
      load: capacity ? running.length / capacity : 0,
    };
  });
}

/** Each job's counts (of records: a bundle counts once), plus the runs its live leases hold (a claim group's each). */
async function queuesStatus(client: Coordination, jobs: string[]) {
  return Promise.all(
    jobs.map(async (job) => {
      const [c, leased] = await Promise.all([jobCounts(client, job), activeRuns(client, job, layout.leases(job))]);
      return { job, paused: c.paused, depth: c.waiting, lanes: c.lanes, inflight: c.active, active: leased, delayed: c.delayed, dead: c.dead, history: c.finished, succeeded: c.succeeded, failed: c.failed, cancelled: c.cancelled };
    }),
  );
}

async function schedulerStatus(client: Coordination): Promise<{ candidates: string[]; leader?: string; since?: number }> {
  const candidates = (await childrenOrEmpty(client, layout.scheduler)).filter((n) => n.startsWith('c-')).sort((a, b) => sequenceOf(a) - sequenceOf(b));
  let state: { leader?: unknown; since?: unknown } = {};
  try {
    state = JSON.parse((await client.get(layout.schedulerState)).data.toString('utf8')) as typeof state;
  } catch (err) {
    // No scheduler yet, or a state we cannot read: show the candidates alone.
    if (!isZkError(err, 'NO_NODE') && !(err instanceof SyntaxError)) throw err;
  }
  return {
    candidates,
    ...(typeof state?.leader === 'string' ? { leader: state.leader } : {}),
    ...(typeof state?.since === 'number' ? { since: state.since } : {}),
  };
}
