/**
 * What every framework command shares: the connection flags, the
 * environment variables behind them, and one error that says what to do
 * when no server answers.
 */
import type { Coordination } from '../shared/client/coordination.ts';
import { connectCoordination } from '../shared/client/zk-client.ts';
import { DroverError, isDroverError } from '../shared/errors.ts';
import { DEFAULT_ROOT } from '../shared/jobs/layout.ts';

export const DEFAULT_CONNECT = '127.0.0.1:2181';

export const CONNECT_OPTIONS = {
  connect: { type: 'string' },
  root: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const CONNECT_HELP = `  --connect HOSTS    host:port[,host:port...] of the ensemble (env DROVER_CONNECT, default ${DEFAULT_CONNECT})
  --root PATH        the cluster's namespace root (env DROVER_ROOT, default ${DEFAULT_ROOT})
  -h, --help         show this help`;

export function connectString(value: string | undefined): string {
  return value ?? process.env['DROVER_CONNECT'] ?? DEFAULT_CONNECT;
}

/**
 * --root, else DROVER_ROOT, else the fallback; refused before anything
 * connects unless it is an absolute znode path (a leading '/', no trailing
 * '/', no empty, '.' or '..' segment).
 */
export function rootPath(value: string | undefined, fallback: string = DEFAULT_ROOT): string {
  const fromEnv = value === undefined ? process.env['DROVER_ROOT'] : undefined;
  const root = value ?? fromEnv ?? fallback;
  const valid = root === '/' || (root.startsWith('/') && root.slice(1).split('/').every((s) => s !== '' && s !== '.' && s !== '..' && !s.includes('\0')));
  if (!valid) {
    const source = fromEnv !== undefined ? `DROVER_ROOT='${root}'` : `--root '${root}'`;
    const segments = root.split('/').filter((s) => s !== '' && s !== '.' && s !== '..' && !s.includes('\0'));
    throw new DroverError('DROVER_INVALID_ARGUMENT', `${source} is not an absolute path: give an absolute PATH, e.g. --root ${segments.length > 0 ? `/${segments.join('/')}` : DEFAULT_ROOT}`);
  }
  return root;
}

/**
 * Connects, turning "nothing answered" into advice. The namespace root is
 * not created (`createRoot`: only `drover dev`, which owns its cluster):
 * a mistyped --root must not leave an empty node behind.
 */
export async function connectForCli(opts: { connect: string; root: string; connectTimeoutMs?: number; createRoot?: boolean }): Promise<Coordination> {
  try {
    const fromEnv = Number(process.env['DROVER_CONNECT_TIMEOUT_MS']);
    const connectTimeoutMs = opts.connectTimeoutMs ?? (Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : 5000);
    return await connectCoordination({ connect: opts.connect, root: opts.root, connectTimeoutMs, sessionTimeoutMs: 10_000, createRoot: opts.createRoot ?? false });
  } catch (err) {
    if (isDroverError(err, 'DROVER_NOT_CONNECTED') || isDroverError(err, 'DROVER_WAIT_TIMEOUT')) {
      throw new DroverError('DROVER_NOT_CONNECTED', `cannot reach a coordination server at ${opts.connect}: is a server running? start one with \`drover dev\` (or \`drover server\`), or pass --connect host:port`, { cause: err });
    }
    throw err;
  }
}

/** Prints a DroverError (or anything) as one line with its code; returns the exit code. */
export function reportError(command: string, err: unknown): number {
  if (err instanceof DroverError) {
    process.stderr.write(`drover ${command}: ${err.message} [${err.code}]\n`);
    return err.code === 'DROVER_INVALID_ARGUMENT' || err.code === 'DROVER_CONFIG' ? 2 : 1;
  }
  const e = err as { code?: unknown; message?: unknown };
  if (typeof e?.code === 'string' && e.code.startsWith('ERR_PARSE_ARGS')) {
    // Node's own text, without the hint about positionals that start with '-' it adds for commands taking them.
    const message = String(e.message).split('. To specify a positional argument')[0];
    process.stderr.write(`drover ${command}: ${message} (see \`drover ${command} --help\`)\n`);
    return 2;
  }
  process.stderr.write(`drover ${command}: ${err instanceof Error ? err.message : String(err)}\n`);
  return 1;
}
