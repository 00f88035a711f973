/**
 * The pure parts of the job model, no server: definition checks, the
 * payload boundary, run ids, retry arithmetic, the append-op builder, and
 * job files in each of their three shapes.
 */
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { isDroverError } from '../../shared/errors.ts';
import { defineJob, toJobSpec } from '../../shared/jobs/define-job.ts';
import { loadJobs } from '../../shared/jobs/load-jobs.ts';
import { layout } from '../../shared/jobs/layout.ts';
import { INPUT_SCHEMA_BYTES_MAX, PAYLOAD_BYTES_MAX, RESULT_BYTES_MAX } from '../../shared/jobs/limits.ts';
import { checkInput, encodeResult } from '../../shared/jobs/payload.ts';
import { appendOps, type LaneTail } from '../../shared/jobs/queue-append.ts';
import { newRunId, runIdTime } from '../../shared/jobs/run-id.ts';
import { attemptsUsed, backoffDelayMs, hasAttemptsLeft } from '../../worker/runs/retry-policy.ts';

const run = () => null;

function codeOf(fn: () => unknown): string | null {
  try {
    fn();
    return null;
  } catch (err) {
    return isDroverError(err) ? err.code : String(err);
  }
}

describe('defineJob', () => {
  it('accepts a full definition and derives its spec', () => {
    const job = defineJob({ name: 'nightly.report-1', run, schedule: '0 3 * * *', timezone: 'Europe/Paris', retries: 2, concurrency: 3, priority: 0, timeoutMs: 1000 });
    expect(job.spec).toEqual({
      v: 1,
      name: 'nightly.report-1',
      schedule: '0 3 * * *',
      timezone: 'Europe/Paris',
      misfire: 'fire-once',
      retries: 2,
      timeoutMs: 1000,
      concurrency: 3,
      priority: 0,
      history: { keep: 1000, maxAgeMs: 7 * 24 * 3600 * 1000 },
      maxStalls: 2,
    });
    expect(toJobSpec({ name: 'x', run }).priority).toBe(5);
  });

  it.each([
    ['a bad name', { name: 'has/slash', run }],
    ['an empty name', { name: '', run }],
    ['negative retries', { name: 'j', run, retries: -1 }],
    ['fractional retries', { name: 'j', run, retries: 1.5 }],
    ['zero concurrency', { name: 'j', run, concurrency: 0 }],
    ['priority 10', { name: 'j', run, priority: 10 }],
    ['timeoutMs 0', { name: 'j', run, timeoutMs: 0 }],
    ['a cron that does not parse', { name: 'j', run, schedule: 'every day at noon' }],
    ['an unknown zone', { name: 'j', run, schedule: '0 * * * *', timezone: 'Mars/Olympus' }],
    ['zero partitions', { name: 'j', run, partitions: 0 }],
    ['no run function', { name: 'j' }],
    ['a zone without a schedule', { name: 'j', run, timezone: 'UTC' }],
    ['an input schema that does not compile', { name: 'j', run, input: { type: 'strin' } }],
    ['an input schema with a typo\'d keyword', { name: 'j', run, input: { type: 'object', requried: ['url'] } }],
    ['an input schema with a dangling $ref', { name: 'j', run, input: { $ref: '#/definitions/nope' } }],
    ['an input schema that is not an object', { name: 'j', run, input: [] }],
    ['an input schema too large to publish', { name: 'j', run, input: { description: 'x'.repeat(INPUT_SCHEMA_BYTES_MAX) } }],
    ['a scheduleInput the input schema refuses', { name: 'j', run, schedule: '0 * * * *', scheduleInput: { day: 1 }, input: { type: 'object', properties: { day: { type: 'string' } } } }],
  ])('rejects %s with DROVER_INVALID_JOB', (_what, def) => {
    expect(codeOf(() => defineJob(def as never))).toBe('DROVER_INVALID_JOB');
  });

  it('publishes the input schema in the spec; says why one does not compile', () => {
    const input = { type: 'object', properties: { url: { type: 'string' } }, required: ['url'] };
    expect(defineJob({ name: 'with-schema', run, input }).spec.input).toEqual(input);
    expect(defineJob({ name: 'no-schema', run }).spec).not.toHaveProperty('input');
    expect(() => defineJob({ name: 'j', run, input: { type: 'string', format: 'uri' } })).toThrow(/does not compile: unknown format "uri".*use pattern/);
  });
});

describe('payload boundary', () => {
  it('round-trips JSON and takes undefined as null', () => {
    expect(checkInput({ a: [1, 'x', null, { b: true }] })).toEqual({ a: [1, 'x', null, { b: true }] });
    expect(checkInput(undefined)).toBeNull();
  });

  it.each([
    ['a function', { f: () => 1 }],
    ['NaN', { n: Number.NaN }],
    ['Infinity', [Number.POSITIVE_INFINITY]],
    ['a Date', { d: new Date(0) }],
    ['a Map', new Map()],
    ['a bigint', { n: 1n }],
    ['undefined in an array', [undefined]],
    ['a class instance', { x: new (class Point {})() }],
  ])('rejects %s with DROVER_INVALID_PAYLOAD', (_what, value) => {
    expect(codeOf(() => checkInput(value))).toBe('DROVER_INVALID_PAYLOAD');
  });

  it('rejects a cycle', () => {
    const a: Record<string, unknown> = {};
    a['self'] = a;
    expect(codeOf(() => checkInput(a))).toBe('DROVER_INVALID_PAYLOAD');
  });

  it('enforces the limits in bytes of UTF-8, with a message that names them', () => {
    const justFits = 'x'.repeat(PAYLOAD_BYTES_MAX - 2); // the quotes
    expect(() => checkInput(justFits)).not.toThrow();
    expect(codeOf(() => checkInput(`${justFits}x`))).toBe('DROVER_PAYLOAD_TOO_LARGE');
    // 'é' is two bytes: half as many characters already pass the limit.
    expect(codeOf(() => checkInput('é'.repeat(PAYLOAD_BYTES_MAX / 2)))).toBe('DROVER_PAYLOAD_TOO_LARGE');
    try {
      encodeResult('y'.repeat(RESULT_BYTES_MAX));
    } catch (err) {
      expect((err as Error).message).toMatch(new RegExp(`limit is ${RESULT_BYTES_MAX}`));
    }
  });

  test.prop([fc.jsonValue()])('any JSON value passes unchanged (up to -0)', (value) => {
    expect(checkInput(value)).toEqual(JSON.parse(JSON.stringify(value)));
  });
});

describe('run ids', () => {
  it('are safe znode names, unique, and sort by time', () => {
    const ids = Array.from({ length: 2000 }, (_, i) => newRunId(1_700_000_000_000 + Math.floor(i / 10)));
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort((a, b) => runIdTime(a) - runIdTime(b))).toEqual(ids.slice().sort((a, b) => runIdTime(a) - runIdTime(b)));
    expect(ids.every((id) => /^r-[0-9a-z]{9}-[0-9a-z]{8}$/.test(id))).toBe(true);
    expect(runIdTime(newRunId(12345))).toBe(12345);
    expect(Number.isNaN(runIdTime('custom-id'))).toBe(true);
  });

  test.prop([fc.integer({ min: 0, max: 2 ** 45 }), fc.integer({ min: 0, max: 2 ** 45 })])('string order is time order', (a, b) => {
    const [x, y] = [newRunId(a), newRunId(b)];
    if (a < b) expect(x < y).toBe(true);
  });
});

describe('retry policy', () => {
  it('counts attempts net of free ones', () => {
    expect(attemptsUsed({ attempt: 3, freeAttempts: 1 })).toBe(2);
    expect(hasAttemptsLeft({ attempt: 3, freeAttempts: 1, maxAttempts: 3 })).toBe(true);
    expect(hasAttemptsLeft({ attempt: 3, maxAttempts: 3 })).toBe(false);
  });

  it('backs off fixed or exponentially, capped', () => {
    expect(backoffDelayMs(undefined, 3)).toBe(0);
    expect(backoffDelayMs({ type: 'fixed', delayMs: 50 }, 4)).toBe(50);
    expect([1, 2, 3, 4].map((r) => backoffDelayMs({ type: 'exponential', delayMs: 100, maxDelayMs: 500 }, r))).toEqual([100, 200, 400, 500]);
  });
});

describe('appendOps', () => {
  it('makes a new lane with its tail at n, or moves an existing tail by CAS, items in order', () => {
    const tails = new Map<number, LaneTail>([
      [0, { priority: 0, tail: null, version: -1 }],
      [5, { priority: 5, tail: 7, version: 3 }],
    ]);
    const retryable = new Set<number>();
    const ops = appendOps('j', tails, [{ runId: 'a', priority: 5 }, { runId: 'b', priority: 0 }, { runId: 'c', priority: 5 }], 10, retryable);
    expect(ops.map((o) => `${o.op} ${o.path}${'version' in o && o.version !== undefined ? ` @${o.version}` : ''}`)).toEqual([
      `create ${layout.lane('j', 0)}`,
      `create ${layout.laneHead('j', 0)}`,
      `create ${layout.laneItems('j', 0)}`,
      `create ${layout.laneTail('j', 0)}`,
      `create ${layout.laneItem('j', 0, 0)}`,
      `set ${layout.laneTail('j', 5)} @3`,
      `create ${layout.laneItem('j', 5, 7)}`,
      `create ${layout.laneItem('j', 5, 8)}`,
    ]);
    expect([...retryable]).toEqual([10, 15]);
    expect(ops[3]!.op === 'create' && ops[3]!.data?.toString()).toBe('1');
    expect(ops[5]!.op === 'set' && ops[5]!.data.toString()).toBe('9');
  });
});

describe('loadJobs', () => {
  const dir = mkdtempSync(path.join(path.resolve(import.meta.dirname, 'fixtures'), 'tmp-load-'));
  const defineUrl = path.resolve(import.meta.dirname, '../../shared/jobs/define-job.ts');
  const file = (name: string, body: string): string => {
    const f = path.join(dir, name);
    writeFileSync(f, `import { defineJob } from ${JSON.stringify(defineUrl)};\n${body}\n`);
    return f;
  };

  it('reads a default job, a default array, and named jobs; refuses duplicates and empty files', async () => {
    try {
      expect((await loadJobs(file('one.ts', "export default defineJob({ name: 'one', run: () => 1 });"))).map((j) => j.name)).toEqual(['one']);
      expect((await loadJobs(file('arr.ts', "export default [defineJob({ name: 'a1', run: () => 1 }), defineJob({ name: 'a2', run: () => 2 })];"))).map((j) => j.name)).toEqual(['a1', 'a2']);
      const named = file('named.ts', "export const x = defineJob({ name: 'x', run: () => 1 });\nexport const y = defineJob({ name: 'y', run: () => 2 });\nexport default x;\nexport const notAJob = 3;");
      expect((await loadJobs(named)).map((j) => j.name).sort()).toEqual(['x', 'y']);
      const dup = file('dup.ts', "export const a = defineJob({ name: 'd', run: () => 1 });\nexport const b = defineJob({ name: 'd', run: () => 2 });");
      await expect(loadJobs(dup)).rejects.toMatchObject({ code: 'DROVER_INVALID_JOB' });
      await expect(loadJobs(file('none.ts', 'export const nothing = 1;'))).rejects.toMatchObject({ code: 'DROVER_CONFIG' });
      await expect(loadJobs(path.join(dir, 'missing.ts'))).rejects.toMatchObject({ code: 'DROVER_CONFIG' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
