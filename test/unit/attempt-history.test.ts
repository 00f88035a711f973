/** The pure parts of attempt history: the byte budget's trimming order, log fields, handler errors. */
import { describe, expect, it } from 'vitest';
import { appendAttempt, attemptEntry, BUNDLED_ATTEMPT_BOUNDS, RUN_ATTEMPT_BOUNDS } from '../../shared/jobs/attempt-history.ts';
import type { AttemptRecord, RunRecord } from '../../shared/jobs/job-types.ts';
import { NonRetryableError } from '../../shared/non-retryable-error.ts';
import { DroverError } from '../../shared/errors.ts';
import { handlerError } from '../../worker/runs/handler-error.ts';
import { boundFields } from '../../worker/runs/log-fields.ts';

const record = (attempt: number): RunRecord => ({
  v: 1,
  id: 'r-1',
  job: 'j',
  state: 'active',
  input: null,
  attempt,
  maxAttempts: 99,
  priority: 5,
  enqueuedAt: 0,
  worker: 'w-0000000001',
  startedAt: 10,
  logs: [{ at: 11, level: 'info', msg: 'm'.repeat(400), fields: { k: 'v'.repeat(150) } }],
});

function failed(attempt: number, stackChars: number): AttemptRecord {
  const stack = Array.from({ length: Math.ceil(stackChars / 40) }, (_, i) => `    at f${i} (file:///x.ts:${i}:1)`).join('\n');
  return attemptEntry(record(attempt), { outcome: 'failed', finishedAt: 20, error: { code: 'E', name: 'Error', message: `fail ${attempt}`, stack } }, RUN_ATTEMPT_BOUNDS);
}

describe('attempt history', () => {
  it('keeps the last `max`, and past the byte budget sheds older logs, then older stacks, then whole entries', () => {
    let history: AttemptRecord[] = [];
    for (let a = 1; a <= 14; a++) history = appendAttempt(history, failed(a, 2000), RUN_ATTEMPT_BOUNDS);
    expect(history.map((h) => h.attempt)).toEqual([5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
    expect(Buffer.byteLength(JSON.stringify(history))).toBeLessThanOrEqual(RUN_ATTEMPT_BOUNDS.bytes);
    const newest = history.at(-1)!;
    expect(newest.logs).toHaveLength(1);
    expect(newest.error?.stack?.length).toBeLessThanOrEqual(RUN_ATTEMPT_BOUNDS.stackChars);
    // Older entries lost their logs before any lost a stack.
    const firstWithLogs = history.findIndex((h) => h.logs !== undefined);
    const lastWithoutStack = history.findLastIndex((h) => h.error?.stack === undefined);
    expect(lastWithoutStack).toBeLessThan(firstWithLogs === -1 ? history.length : firstWithLogs);
    for (const h of history) expect(h.error?.message).toBe(`fail ${h.attempt}`);
  });

  it('a bundled run keeps fewer, smaller entries; the input history is not changed', () => {
    const before: AttemptRecord[] = [];
    let history = before;
    for (let a = 1; a <= 5; a++) history = appendAttempt(history, attemptEntry(record(a), { outcome: 'failed', finishedAt: 20, error: { code: 'E', message: 'x'.repeat(5000), stack: 's\n'.repeat(2000) } }, BUNDLED_ATTEMPT_BOUNDS), BUNDLED_ATTEMPT_BOUNDS);
    expect(before).toEqual([]);
    expect(history.length).toBeGreaterThan(0);
    expect(history.length).toBeLessThanOrEqual(BUNDLED_ATTEMPT_BOUNDS.max);
    expect(Buffer.byteLength(JSON.stringify(history))).toBeLessThanOrEqual(BUNDLED_ATTEMPT_BOUNDS.bytes);
    expect(history.at(-1)!.attempt).toBe(5);
    expect(history.at(-1)!.error?.message.length).toBeLessThanOrEqual(BUNDLED_ATTEMPT_BOUNDS.messageChars);
  });
});

describe('log fields', () => {
  it('are JSON-safe: bigints as text, errors as { type, message, code }, cycles cut', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic['self'] = cyclic;
    const err = Object.assign(new TypeError('bad'), { code: 'E_BAD' });
    expect(boundFields({ n: 10n, err, cyclic }, 500)).toEqual({ n: '10', err: { type: 'TypeError', message: 'bad', code: 'E_BAD' }, cyclic: { a: 1, self: '[Circular]' } });
    expect(boundFields(err, 500)).toEqual({ err: { type: 'TypeError', message: 'bad', code: 'E_BAD' } });
    expect(boundFields({}, 500)).toBeUndefined();
    expect(boundFields({ toJSON: () => { throw new Error('no'); } }, 500)).toBeUndefined();
  });

  it('are cut to the bound: keys in order while they fit, a long value as cut text', () => {
    const f = boundFields({ a: 1, long: 'é"'.repeat(300), b: 2, huge: { deep: 'z'.repeat(500) } }, 120)!;
    expect(JSON.stringify(f).length).toBeLessThanOrEqual(120);
    expect(f['a']).toBe(1);
    expect(String(f['long'])).toMatch(/…$/);
  });
});

describe('handler errors', () => {
  it('keep code, class name, message and the stack frames; NonRetryableError by its brand', () => {
    const e = handlerError(Object.assign(new RangeError('r'), { code: 'E_R' }));
    expect(e).toMatchObject({ code: 'E_R', name: 'RangeError', message: 'r' });
    expect(e.stack?.startsWith('    at ')).toBe(true);
    expect(e.noRetry).toBeUndefined();
    expect(handlerError(new NonRetryableError('n'))).toMatchObject({ code: 'DROVER_NON_RETRYABLE', name: 'NonRetryableError', noRetry: true });
    class Mine extends NonRetryableError {}
    expect(handlerError(new Mine('m', { code: 'E_M' }))).toMatchObject({ code: 'E_M', name: 'Mine', noRetry: true });
    expect(new Mine('m')).toBeInstanceOf(NonRetryableError);
    expect(handlerError(new DroverError('DROVER_TIMEOUT'))).toMatchObject({ code: 'DROVER_TIMEOUT', name: 'DroverError' });
    const thrownString = handlerError('just text');
    expect(thrownString).toEqual({ code: 'DROVER_HANDLER_FAILED', message: 'just text' });
  });
});
