/** `drover dashboard`: the web dashboard for a cluster, on 127.0.0.1 unless told otherwise. */
import { stopSignal } from './stop-signal.ts';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { parseArgs } from 'node:util';
import { createRootLogger } from '../coordinator/base/log.ts';
import { startDashboard } from '../dashboard/index.ts';
import { DroverError } from '../shared/errors.ts';
import { CONNECT_HELP, CONNECT_OPTIONS, connectForCli, connectString, reportError, rootPath } from './cli-connect.ts';

const HELP = `drover dashboard — the web dashboard (JSON API, live UI)

Usage: drover dashboard [options]

  --host ADDR        listen address (default 127.0.0.1; anything else needs --token)
  --port N           listen port (default 7070, env DROVER_DASHBOARD_PORT)
  --token TOKEN      when set, needed for every read and change (the page asks
                     for it once; env DROVER_DASHBOARD_TOKEN)
  --tls-cert FILE    serve HTTPS with this PEM certificate (with --tls-key)
  --tls-key FILE     the certificate's PEM private key (with --tls-cert)
  --log-level LEVEL  pino level (default info; env DROVER_LOG_LEVEL)
${CONNECT_HELP}
`;

export const DEFAULT_DASHBOARD_PORT = 7070;

/** --tls-cert and --tls-key, both or neither, read now so a bad path fails before anything listens. */
export function tlsFromFlags(cert: string | undefined, key: string | undefined): { cert: Buffer; key: Buffer } | undefined {
  if (cert === undefined && key === undefined) return undefined;
  if (cert === undefined || key === undefined) throw new DroverError('DROVER_CONFIG', '--tls-cert and --tls-key go together: pass both (PEM files) or neither');
  const read = (flag: string, file: string) => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new DroverError('DROVER_CONFIG', `${flag} ${file}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  };
  const pair = { cert: read('--tls-cert', cert), key: read('--tls-key', key) };
  try {
    createSecureContext(pair);
  } catch (err) {
    throw new DroverError('DROVER_CONFIG', `--tls-cert ${cert} with --tls-key ${key}: not a usable PEM certificate and its key (${err instanceof Error ? err.message : String(err)})`, { cause: err });
  }
  return pair;
}

export async function run(args: string[]): Promise<number> {
  try {
    const { values } = parseArgs({ args, options: { ...CONNECT_OPTIONS, host: { type: 'string' }, port: { type: 'string' }, token: { type: 'string' }, 'tls-cert': { type: 'string' }, 'tls-key': { type: 'string' }, 'log-level': { type: 'string' } } });
    if (values.help) {
      process.stdout.write(HELP);
      return 0;
    }
    const port = Number(values.port ?? process.env['DROVER_DASHBOARD_PORT'] ?? DEFAULT_DASHBOARD_PORT);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new DroverError('DROVER_CONFIG', `--port wants 0..65535, not '${values.port}'`);
    const token = values.token ?? process.env['DROVER_DASHBOARD_TOKEN'];
    const tls = tlsFromFlags(values['tls-cert'], values['tls-key']);
    const logger = createRootLogger({ ...(values['log-level'] ? { level: values['log-level'] } : {}) });
    const connect = connectString(values.connect);
    const root = rootPath(values.root);
    const stopped = stopSignal();
    const client = await connectForCli({ connect, root });
    let started;
    try {
      started = await startDashboard({ client, connect, logger, port, ...(values.host ? { host: values.host } : {}), ...(token ? { token } : {}), ...(tls ? { tls } : {}) });
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
