/** The messages between the worker's main thread and its handler threads. */
import type { ExecOutcome, ExecRequest } from './executor.ts';
import type { LogLevel } from './run-logger.ts';

export type ToThread =
  | { t: 'run'; id: number; req: ExecRequest }
  | { t: 'abort'; id: number; code: string; message: string };

export type FromThread =
  | { t: 'ready'; jobs: string[] }
  | { t: 'load-failed'; message: string }
  | { t: 'progress'; id: number; pct: number; message?: string }
  /** fields: the line's structured fields, already JSON-safe and bounded (run-logger.ts). */
  | { t: 'log'; id: number; level: LogLevel; msg: string; fields?: Record<string, unknown> }
  | { t: 'done'; id: number; outcome: ExecOutcome };

/**
 * What crosses a port: the messages of one event-loop turn, in order, as one
 * postMessage (a message per run and outcome cost more than a no-op run).
 */
export type ToThreadBatch = ToThread[];
export type FromThreadBatch = FromThread[];

export interface ThreadData {
  files: string[];
}
