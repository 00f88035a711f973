/**
 * RunRecord.attempts: one entry per attempt that did not succeed, appended
 * by whoever ends the attempt (the worker's finish, recovery for a lost
 * worker), bounded by count and by bytes (limits.ts). Past the byte budget
 * the oldest entries shed their logs, then their stacks, then go: an
 * earlier attempt's code, name and message outlive its details.
 */
import type { AttemptOutcome, AttemptRecord, RunError, RunRecord } from './job-types.ts';
import {
  BUNDLE_ATTEMPT_LOG_LINES_MAX,
  BUNDLE_ATTEMPTS_BYTES_MAX,
  BUNDLE_ATTEMPTS_MAX,
  BUNDLE_ERROR_STACK_CHARS_MAX,
  BUNDLE_MESSAGE_CHARS_MAX,
  RUN_ATTEMPT_ERROR_CHARS_MAX,
  RUN_ATTEMPT_LOG_LINES_MAX,
  RUN_ATTEMPTS_BYTES_MAX,
  RUN_ATTEMPTS_MAX,
  RUN_ERROR_STACK_CHARS_MAX,
} from './limits.ts';

export interface AttemptBounds {
  /** Entries kept (the newest). */
  max: number;
  /** All entries together, as UTF-8 JSON. */
  bytes: number;
  messageChars: number;
  stackChars: number;
  logLines: number;
}

export const RUN_ATTEMPT_BOUNDS: AttemptBounds = {
  max: RUN_ATTEMPTS_MAX,
  bytes: RUN_ATTEMPTS_BYTES_MAX,
  messageChars: RUN_ATTEMPT_ERROR_CHARS_MAX,
  stackChars: RUN_ERROR_STACK_CHARS_MAX,
  logLines: RUN_ATTEMPT_LOG_LINES_MAX,
};

/** A bundled run's share (docs/adr/0006-run-bundles.md): its record is one of up to 64 in a znode. */
export const BUNDLED_ATTEMPT_BOUNDS: AttemptBounds = {
  max: BUNDLE_ATTEMPTS_MAX,
  bytes: BUNDLE_ATTEMPTS_BYTES_MAX,
  messageChars: BUNDLE_MESSAGE_CHARS_MAX,
  stackChars: BUNDLE_ERROR_STACK_CHARS_MAX,
  logLines: BUNDLE_ATTEMPT_LOG_LINES_MAX,
};

/** `text` cut to at most `max` characters, at a line end when there is one (stacks read by line). */
export function cutLines(text: string, max: number): string {
  if (text.length <= max) return text;
  const end = text.lastIndexOf('\n', max);
  return end > 0 ? text.slice(0, end) : text.slice(0, max);
}

export interface EndedAttempt {
  outcome: AttemptOutcome;
  finishedAt: number;
  error?: RunError & { stack?: string };
  /** The attempt did not count against maxAttempts. */
  free?: boolean;
}

/** The entry for the attempt `record` is on (its worker, start and logs are the record's own). */
export function attemptEntry(record: RunRecord, ended: EndedAttempt, bounds: AttemptBounds): AttemptRecord {
  const entry: AttemptRecord = { attempt: record.attempt, finishedAt: ended.finishedAt, outcome: ended.outcome };
  if (record.worker !== undefined) entry.worker = record.worker;
  if (record.startedAt !== undefined) entry.startedAt = record.startedAt;
  if (ended.free) entry.free = true;
  const e = ended.error;
  if (e) {
    entry.error = { code: e.code, message: e.message.length > bounds.messageChars ? `${e.message.slice(0, bounds.messageChars - 1)}…` : e.message };
    if (e.name !== undefined) entry.error.name = e.name;
    if (e.stack) entry.error.stack = cutLines(e.stack, bounds.stackChars);
  }
  if (record.logs && record.logs.length > 0) entry.logs = record.logs.slice(-bounds.logLines);
  return entry;
}

function bytesOf(entry: AttemptRecord): number {
  return Buffer.byteLength(JSON.stringify(entry), 'utf8');
}

/** `history` with `entry` appended, within `bounds`. A new array; the entries of `history` are not changed. */
export function appendAttempt(history: AttemptRecord[] | undefined, entry: AttemptRecord, bounds: AttemptBounds): AttemptRecord[] {
  const list = [...(history ?? []), entry].slice(-bounds.max);
  const sizes = list.map(bytesOf);
  let total = 1 + sizes.reduce((a, b) => a + b + 1, 0);
  if (total <= bounds.bytes) return list;
  const shed = (i: number, what: 'logs' | 'stack'): void => {
    const e = list[i]!;
    if (what === 'logs' ? e.logs === undefined : e.error?.stack === undefined) return;
    const lighter: AttemptRecord = { ...e };
    if (what === 'logs') delete lighter.logs;
    else if (e.error) {
      lighter.error = { ...e.error };
      delete lighter.error.stack;
    }
    list[i] = lighter;
    const size = bytesOf(lighter);
    total -= sizes[i]! - size;
    sizes[i] = size;
  };
  const last = list.length - 1;
  // The older attempts' details first, then the newest's.
  for (const [what, from, to] of [['logs', 0, last], ['stack', 0, last], ['logs', last, last + 1], ['stack', last, last + 1]] as const) {
    for (let i = from; i < to && total > bounds.bytes; i++) shed(i, what);
  }
  while (total > bounds.bytes && list.length > 0) {
    total -= sizes.shift()! + 1;
    list.shift();
  }
  return list;
}
