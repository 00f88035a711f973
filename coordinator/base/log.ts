/**
 * One pino root per process; components get children (`{component:'server'}`)
 * injected at construction, never a global. Pretty only when a person is at
 * the terminal (stdout is a TTY) and pino-pretty is installed.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

export interface RootLoggerOptions {
  level?: string;
  /** Force JSON even on a TTY. */
  json?: boolean;
  /** Write to stderr (fd 2) instead of stdout, e.g. for CLI commands whose stdout is data. */
  stderr?: boolean;
}

export function createRootLogger(opts: RootLoggerOptions = {}): Logger {
  const level = opts.level ?? process.env['DROVER_LOG_LEVEL'] ?? 'info';
  const fd = opts.stderr ? 2 : 1;
  const tty = fd === 1 ? process.stdout.isTTY : process.stderr.isTTY;
  if (tty && !opts.json) {
    return pino({
      level,
      transport: { target: 'pino-pretty', options: { destination: fd, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' } },
    });
  }
  return pino({ level }, pino.destination({ dest: fd, sync: false }));
}

/** A logger that drops everything: tests and pure-core unit tests use it. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
