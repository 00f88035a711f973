/**
 * ctx.log: a pino child whose lines are also kept (bounded) on the run's
 * record, with their structured fields. A Proxy over the child intercepts
 * the level methods only, so bindings, child(), level and the rest behave
 * as pino's own.
 */
import type { Logger } from 'pino';
import { RUN_LOG_FIELDS_CHARS_MAX, RUN_LOG_LINE_CHARS_MAX } from '../../shared/jobs/limits.ts';
import { boundFields } from './log-fields.ts';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The text of a pino call's arguments: (msg), (obj, msg), (err), (obj). */
export function lineText(args: unknown[]): string {
  const [first, second] = args;
  let text: string;
  if (typeof first === 'string') text = first;
  else if (typeof second === 'string') text = second;
  else if (first instanceof Error) text = first.message;
  else text = JSON.stringify(first) ?? '';
  return text.length > RUN_LOG_LINE_CHARS_MAX ? `${text.slice(0, RUN_LOG_LINE_CHARS_MAX - 1)}…` : text;
}

/** The merging object of a pino call (`(obj, msg)`, `(err)`), JSON-safe and bounded; undefined without one. */
export function lineFields(args: unknown[]): Record<string, unknown> | undefined {
  const [first] = args;
  return typeof first === 'object' && first !== null ? boundFields(first, RUN_LOG_FIELDS_CHARS_MAX) : undefined;
}

export type LogCapture = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => void;

export function capturingLogger(base: Logger, capture: LogCapture): Logger {
  return new Proxy(base, {
    get(target, prop) {
      if (typeof prop === 'string' && (LOG_LEVELS as readonly string[]).includes(prop)) {
        const level = prop as LogLevel;
        return (...args: unknown[]) => {
          capture(level, lineText(args), lineFields(args));
          (target[level] as (...a: unknown[]) => void).apply(target, args);
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
