#!/usr/bin/env node
/**
 * The `drover` CLI: the one place that wires every part together. This
 * file imports nothing but the command it runs, so `drover --help` starts fast.
 */

const HELP = `drover — distributed jobs on a ZooKeeper-compatible core

Usage: drover <command> [options]

Commands:
  dev        a local cluster: 3 members, 3 workers (the examples, or --jobs FILE), the dashboard
  server     run a coordination server (ZooKeeper wire protocol), standalone or an ensemble member
  worker     run jobs from job files (drover worker --jobs FILE[,FILE...])
  dashboard  the web dashboard for a cluster
  enqueue    put a run on a job's queue (--wait follows it to the end)
  status     the ensemble, workers and queues as tables
  runs       a job's runs a page at a time by state; get, cancel or retry one
  jobs       every job with its counts and workers; pause, resume or remove one
  tree       read and change znodes (ls, get, stat, acl, set, create, delete)
  help       show this help (--version prints the version)

Connection: --connect host:port[,host:port...] (env DROVER_CONNECT, default 127.0.0.1:2181)
            --root /path (env DROVER_ROOT, default /drover)

Run \`drover <command> --help\` for a command's options.
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(HELP);
      return 0;
    case '--version':
    case '-v': {
      const { readFileSync } = await import('node:fs');
      const pkg = JSON.parse(readFileSync(new URL(import.meta.url.endsWith('.ts') ? '../package.json' : '../../package.json', import.meta.url), 'utf8')) as { version: string };
      process.stdout.write(`${pkg.version}\n`);
      return 0;
    }
    case 'server':
    case 'dev':
    case 'worker':
    case 'dashboard':
    case 'enqueue':
    case 'status':
    case 'tree':
    case 'runs':
    case 'jobs':
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
  // Literal specifiers: the build rewrites them to the compiled files.
  const commands: Record<string, () => Promise<{ run(args: string[]): Promise<number> }>> = {
    server: () => import('./server-command.ts'),
    dev: () => import('./dev-command.ts'),
    worker: () => import('./worker-command.ts'),
    dashboard: () => import('./dashboard-command.ts'),
    enqueue: () => import('./enqueue-command.ts'),
    status: () => import('./status-command.ts'),
    tree: () => import('./tree-command.ts'),
    runs: () => import('./runs-command.ts'),
    jobs: () => import('./jobs-command.ts'),
  };
  const load = commands[command];
  if (!load) throw new Error(`no command file for '${command}'`);
  return (await load()).run(args);
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
