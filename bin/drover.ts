/**
 * The `drover` CLI: the one place that wires every part together.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createRootLogger } from '../coordinator/base/log.ts';
import { startStandalone, startEnsembleMember, parseZooCfg, defaultConfig, type MemberConfig } from '../coordinator/index.ts';

const HELP = `drover — distributed jobs on a ZooKeeper-compatible core

Usage: drover <command> [options]

Commands:
  dev        a local cluster: 3 members, 3 workers, the examples, the dashboard (\`npm start\`)
  server     run a coordination server (ZooKeeper wire protocol), standalone or an ensemble member
  worker     run jobs from job files (drover worker --jobs FILE[,FILE...])
  dashboard  the web dashboard for a cluster
  enqueue    put a run on a job's queue (--wait follows it to the end)
  status     the ensemble, workers and queues as tables
  tree       read and change znodes (ls, get, stat, acl, set, create, delete)
  help       show this help

Connection: --connect host:port[,host:port...] (env DROVER_CONNECT, default 127.0.0.1:2181)
            --root /path (env DROVER_ROOT, default /drover)

Run \`drover <command> --help\` for a command's options.
`;

const SERVER_HELP = `drover server — run a coordination server

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

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'server':
      return serverCommand(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(HELP);
      return 0;
    case 'dev':
    case 'worker':
    case 'dashboard':
    case 'enqueue':
    case 'status':
    case 'tree':
      return runCommandFile(command, rest);
    default:
      process.stderr.write(`drover: unknown command '${command}'.\n\n${HELP}`);
      return 2;
  }
}

/**
 * Each framework command lives in its own file, `bin/<command>-command.ts`,
 * exporting `run(args): Promise<number>` (the exit code); loaded on demand
 * so `drover server` never loads the framework.
 */
async function runCommandFile(command: string, args: string[]): Promise<number> {
  const mod = (await import(`./${command}-command.ts`)) as { run(args: string[]): Promise<number> };
  return mod.run(args);
}

async function serverCommand(args: string[]): Promise<number> {
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
    process.stdout.write(SERVER_HELP);
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
  let member;
  if (config.servers.length > 0) {
    // As ZooKeeper: server.N lines make an ensemble member; dataDir/myid says which one this is.
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
  const shutdown = (signal: string): void => {
    log.info({ signal }, 'shutting down');
    void member.stop();
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
  await member.stopped;
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`drover: ${message}\n`);
    process.exitCode = 1;
  },
);
