/**
 * `drover status`: the ensemble (srvr/mntr of each member), the workers and
 * the queues, as tables. One read of the namespace through a TreeCache,
 * shown with the dashboard's own view model.
 */
import { parseArgs } from 'node:util';
import { startEnsembleProbe } from '../dashboard/ensemble/ensemble-probe.ts';
import { cacheView } from '../dashboard/live/cache-view.ts';
import { queuesView, schedulerView, workersView } from '../dashboard/model/cluster-view.ts';
import type { Coordination } from '../shared/client/coordination.ts';
import { TreeCache } from '../shared/recipes/tree-cache.ts';
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
    const probe = startEnsembleProbe({ connect, logger: silentLogger, intervalMs: 60_000 });
    const members = await probe.probe();
    probe.stop();
    client = await connectForCli({ connect, root: rootPath(values.root) });
    const cache = new TreeCache(client, '/', { logger: silentLogger });
    await cache.start();
    const tree = cacheView(cache);
    const workers = workersView(tree);
    const queues = queuesView(tree);
    const scheduler = schedulerView(tree);
    await cache.close();
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
    out.push(queues.length ? formatTable(['job', 'waiting', 'in flight', 'delayed', 'dead', 'finished', 'paused'], queues.map((q) => [q.job, q.depth, q.inflight, q.delayed, q.dead, q.history, q.paused ? 'yes' : ''])) : 'none\n');
    process.stdout.write(out.join(''));
    return members.some((m) => m.up) ? 0 : 1;
  } catch (err) {
    return reportError('status', err);
  } finally {
    await client?.close();
  }
}
