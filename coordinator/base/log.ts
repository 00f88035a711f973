/**
 * One pino root per process; components get children (`{component:'server'}`)
 * injected at construction, never a global. JSON unless a person is at the
 * terminal and pino-pretty can be loaded (it is a devDependency: an installed
 * package usually has none, and then logs stay JSON instead of crashing).
 * DROVER_LOG_PRETTY=1 asks for pretty lines on a pipe too (`drover dev`
 * sets it for its workers when it runs on a terminal), =0 forces JSON.
 */
import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

export interface RootLoggerOptions {
  level?: string;
  /** Force JSON even on a TTY. */
  json?: boolean;
  /** Write to stderr (fd 2) instead of stdout, e.g. for CLI commands whose stdout is data. */
  stderr?: boolean;
}

type PrettyFactory = (opts: Record<string, unknown>) => DestinationStream;

/** pino-pretty's stream factory, or null when it is not installed where this package can resolve it. */
function loadPretty(): PrettyFactory | null {
  try {
    const mod = createRequire(import.meta.url)('pino-pretty') as PrettyFactory | { default: PrettyFactory };
    return typeof mod === 'function' ? mod : mod.default;
  } catch {
    return null;
  }
}

function wantsPretty(opts: RootLoggerOptions, fd: 1 | 2): boolean {
  if (opts.json) return false;
  const env = process.env['DROVER_LOG_PRETTY'];
  if (env === '0') return false;
  if (env === '1') return true;
  return fd === 1 ? process.stdout.isTTY === true : process.stderr.isTTY === true;
}

export function createRootLogger(opts: RootLoggerOptions = {}): Logger {
  const level = opts.level ?? process.env['DROVER_LOG_LEVEL'] ?? 'info';
  const fd = opts.stderr ? 2 : 1;
  const pretty = wantsPretty(opts, fd) ? loadPretty() : null;
  if (pretty) {
    // In-process (no transport thread to resolve a target in): one line per event.
    return pino({ level }, pretty({ destination: fd, colorize: true, singleLine: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }));
  }
  return pino({ level }, pino.destination({ dest: fd, sync: false }));
}

/** A logger that drops everything: tests and pure-core unit tests use it. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
