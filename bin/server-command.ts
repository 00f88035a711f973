/**
 * `drover server`: a coordination server (ZooKeeper wire protocol),
 * standalone or, with server.N lines in its zoo.cfg, an ensemble member.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createRootLogger } from '../coordinator/base/log.ts';
import { stopSignal } from './stop-signal.ts';
import { startStandalone, startEnsembleMember, parseZooCfg, defaultConfig, type MemberConfig } from '../coordinator/index.ts';

const HELP = `drover server — run a coordination server

Options:
  --config FILE      read a ZooKeeper zoo.cfg (tickTime, dataDir, clientPort, ...)
  --port N           client port (default 2181)
  --host ADDR        address to listen on (default 0.0.0.0)
  --data-dir DIR     where snapshots and the transaction log live (required without --config)
  --tick-time MS     tickTime in ms (default 2000)
  --snap-count N     snapshot after about N transactions (default 100000)
  --log-level LEVEL  pino level (default info; env DROVER_LOG_LEVEL)
  -h, --help         show this help
`;

export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      'data-dir': { type: 'string' },
      'tick-time': { type: 'string' },
      'snap-count': { type: 'string' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const log = createRootLogger(values['log-level'] ? { level: values['log-level'] } : {});
  let config: MemberConfig;
  if (values.config) {
    const file = path.resolve(values.config);
    config = parseZooCfg(await readFile(file, 'utf8'));
    for (const key of config.unknownKeys) log.warn({ key, file }, 'unknown zoo.cfg key ignored');
  } else {
    const dataDir = values['data-dir'];
    if (!dataDir) {
      process.stderr.write('drover server: give --data-dir DIR (where the log and snapshots live) or --config zoo.cfg.\n');
      return 2;
    }
    const tickTime = values['tick-time'] ? Number(values['tick-time']) : 2000;
    config = defaultConfig({
      dataDir: path.resolve(dataDir),
      dataLogDir: path.resolve(dataDir),
      clientPort: values.port ? Number(values.port) : 2181,
      clientPortAddress: values.host ?? '0.0.0.0',
      tickTime,
      minSessionTimeout: 2 * tickTime,
      maxSessionTimeout: 20 * tickTime,
      fourLetterWhitelist: '*',
      ...(values['snap-count'] ? { snapCount: Number(values['snap-count']) } : {}),
    });
  }
  if (values.port && values.config) config = { ...config, clientPort: Number(values.port) };
  const stopped = stopSignal();
  let member;
  if (config.servers.length > 0 || config.dynamicConfigFile) {
    // As ZooKeeper: server.N lines (in zoo.cfg or its dynamicConfigFile) make an ensemble member;
    // dataDir/myid says which one this is.
    const myidFile = path.join(config.dataDir, 'myid');
    const text = await readFile(myidFile, 'utf8').catch(() => null);
    const myid = text === null ? NaN : Number(text.trim());
    if (!Number.isInteger(myid)) {
      process.stderr.write(`drover server: ${myidFile} must hold this member's id (the N of its server.N line).\n`);
      return 2;
    }
    member = await startEnsembleMember(config, myid, log);
  } else {
    member = await startStandalone(config, log);
  }
  process.stderr.write(`drover: serving ZooKeeper clients on ${member.host}:${member.port} (data in ${config.dataDir})\n`);
  const running = member;
  void stopped.then((signal) => {
    log.info({ signal }, 'shutting down');
    void running.stop();
  });
  await member.stopped;
  return 0;
}
