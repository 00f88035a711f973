/**
 * What a handler threw, as a run keeps it: code, class name, message and
 * stack frames, cut to the run's bounds here, where it was thrown (in a
 * handler thread the error crosses to the main thread as a message, and an
 * Error's class does not survive that). Nothing here relies on instanceof
 * across module copies: a job file may import its own 'drover'.
 */
import { toError } from '../../shared/errors.ts';
import { cutLines } from '../../shared/jobs/attempt-history.ts';
import type { RunError } from '../../shared/jobs/job-types.ts';
import { RUN_ERROR_CHARS_MAX, RUN_ERROR_NAME_CHARS_MAX, RUN_ERROR_STACK_CHARS_MAX } from '../../shared/jobs/limits.ts';
import { isNonRetryable } from '../../shared/non-retryable-error.ts';

export interface HandlerError extends RunError {
  /** The stack's frames (the lines after `name: message`), cut to RUN_ERROR_STACK_CHARS_MAX. */
  stack?: string;
  /** The handler threw a NonRetryableError: no further attempts. */
  noRetry?: true;
}

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** The frames of a stack: a V8 stack repeats `name: message` (maybe many lines) before them. */
function framesOf(stack: string): string {
  const at = stack.indexOf('\n    at ');
  return at >= 0 ? stack.slice(at + 1) : stack;
}

export function handlerError(thrown: unknown): HandlerError {
  const err = toError(thrown);
  const own = (err as { code?: unknown }).code;
  const out: HandlerError = {
    code: typeof own === 'string' && own !== '' ? cut(own, RUN_ERROR_NAME_CHARS_MAX) : 'DROVER_HANDLER_FAILED',
    message: cut(String(err.message), RUN_ERROR_CHARS_MAX),
  };
  // A thrown non-Error has no class or stack of its own (toError's would point into the framework).
  if (err === thrown) {
    if (typeof err.name === 'string' && err.name !== '') out.name = cut(err.name, RUN_ERROR_NAME_CHARS_MAX);
    if (typeof err.stack === 'string' && err.stack !== '') out.stack = cutLines(framesOf(err.stack), RUN_ERROR_STACK_CHARS_MAX);
  }
  if (isNonRetryable(thrown)) out.noRetry = true;
  return out;
}
