/** `drover dashboard`: the web dashboard for a cluster, on 127.0.0.1 unless told otherwise. */
import { stopSignal } from './stop-signal.ts';
import { parseArgs } from 'node:util';
import { createRootLogger } from '../coordinator/base/log.ts';
import { startDashboard } from '../dashboard/index.ts';
import { DroverError } from '../shared/errors.ts';
import { CONNECT_HELP, CONNECT_OPTIONS, connectForCli, connectString, reportError, rootPath } from './cli-connect.ts';

const HELP = `drover dashboard — the web dashboard (JSON API, live UI)

Usage: drover dashboard [options]

  --host ADDR        listen address (default 127.0.0.1; anything else needs --token)
  --port N           listen port (default 7070, env DROVER_DASHBOARD_PORT)
  --token TOKEN      required on changes (enqueue, retry, cancel, pause) when set
                     (env DROVER_DASHBOARD_TOKEN)
  --log-level LEVEL  pino level (default info; env DROVER_LOG_LEVEL)
${CONNECT_HELP}
`;

export const DEFAULT_DASHBOARD_PORT = 7070;

export async function run(args: string[]): Promise<number> {
  try {
    const { values } = parseArgs({ args, options: { ...CONNECT_OPTIONS, host: { type: 'string' }, port: { type: 'string' }, token: { type: 'string' }, 'log-level': { type: 'string' } } });
    if (values.help) {
      process.stdout.write(HELP);
      return 0;
    }
    const port = Number(values.port ?? process.env['DROVER_DASHBOARD_PORT'] ?? DEFAULT_DASHBOARD_PORT);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new DroverError('DROVER_CONFIG', `--port wants 0..65535, not '${values.port}'`);
    const token = values.token ?? process.env['DROVER_DASHBOARD_TOKEN'];
    const logger = createRootLogger({ ...(values['log-level'] ? { level: values['log-level'] } : {}) });
    const connect = connectString(values.connect);
    const stopped = stopSignal();
    const client = await connectForCli({ connect, root: rootPath(values.root) });
    let started;
    try {
      started = await startDashboard({ client, connect, logger, port, ...(values.host ? { host: values.host } : {}), ...(token ? { token } : {}) });
    } catch (err) {
      await client.close();
      throw err;
    }
    process.stderr.write(`drover: dashboard at ${started.url} (cluster ${connect}${client.root})\n`);
    await stopped;
    await started.app.close();
    await client.close();
    return 0;
  } catch (err) {
    return reportError('dashboard', err);
  }
}
