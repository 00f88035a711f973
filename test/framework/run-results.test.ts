/**
 * The result handle and what a run keeps of its attempts, on both
 * backends: waitForRun (succeeded, dead, cancelled, bundled, already
 * finished, timeout, abort, unknown run, across SUSPENDED and LOST) on
 * watches alone; NonRetryableError (single and bundled runs, a copy of the
 * class from another module instance, a handler thread); attempt history
 * (attempt 1's error kept when attempt 2 fails differently, the last 10
 * attempts, bounded stacks, log lines with their fields).
 */
import { EventEmitter } from 'node:events';
import path from 'node:path';
import { expect, it } from 'vitest';
import { describeOnBackends, nextEvent, nextState } from '../helpers/backends.ts';
import type { Coordination } from '../../shared/client/coordination.ts';
import { cancelRun, defineJob, enqueueWith, getRun, isDroverError, NonRetryableError, waitForRun, type Job, type RunRecord } from '../../shared/index.ts';
import { RUN_ATTEMPTS_BYTES_MAX, RUN_ATTEMPTS_MAX, RUN_ERROR_STACK_CHARS_MAX, RUN_LOG_FIELDS_CHARS_MAX } from '../../shared/jobs/limits.ts';
import { startWorker, type Worker } from '../../worker/runtime.ts';

const FIXTURE = path.join(import.meta.dirname, 'fixtures/run-results-jobs.ts');
const bus = new EventEmitter();
bus.setMaxListeners(100);

/** Runs until its label is opened (or its signal aborts). */
const gate = defineJob<{ label: string }, string>({
  name: 'rr-gate',
  concurrency: 8,
  run: (ctx, input) =>
    new Promise((resolve, reject) => {
      bus.emit('gate-started', { label: input.label, runId: ctx.runId });
      ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error));
      bus.once(`open-${input.label}`, () => resolve(`opened ${input.label}`));
    }),
});

function firstThrower(): never {
  throw new TypeError('first');
}

/** Attempt 1: a TypeError; attempt 2: a RangeError with a code of its own. Logs a line with fields first. */
const failing = defineJob<null, string>({
  name: 'rr-failing',
  retries: 1,
  run: (ctx) => {
    ctx.log.warn({ attempt: ctx.attempt, small: 1, big: 'x'.repeat(1000) }, `trying ${ctx.attempt}`);
    if (ctx.attempt === 1) firstThrower();
    throw Object.assign(new RangeError('second'), { code: 'E_SECOND' });
  },
});

/** NonRetryableError as another copy of 'drover' makes it: its own class, the same brand. */
class ForeignNonRetryable extends Error {
  override name = 'ForeignNonRetryable';
}
Object.defineProperty(ForeignNonRetryable.prototype, Symbol.for('drover.nonRetryable'), { value: true });

let nonRetryAttempts = 0;
const refusing = defineJob<{ foreign?: boolean }, string>({
  name: 'rr-refusing',
  retries: 5,
  run: (_ctx, input) => {
    nonRetryAttempts++;
    if (input.foreign) throw new ForeignNonRetryable('refused by a foreign copy');
    throw new NonRetryableError('refused');
  },
});

/** Bundled: 'ok' succeeds, 'refuse' throws NonRetryableError, 'flaky' fails attempt 1 only. */
const bundled = defineJob<{ n: number; mode: 'ok' | 'refuse' | 'flaky' }, string>({
  name: 'rr-bundled',
  bundle: 4,
  concurrency: 4,
  retries: 2,
  backoff: { type: 'fixed', delayMs: 50 },
  run: (ctx, input) => {
    if (input.mode === 'refuse') throw new NonRetryableError(`no ${input.n}`, { code: 'E_NO' });
    if (input.mode === 'flaky' && ctx.attempt === 1) throw new Error(`flaky ${input.n}`);
    return `ok ${input.n}/${ctx.attempt}`;
  },
});

/** Fails every one of its 12 attempts, each with a long stack and a log line. */
const many = defineJob<null, string>({
  name: 'rr-many',
  retries: 11,
  run: (ctx) => {
    ctx.log.info({ attempt: ctx.attempt }, `attempt ${ctx.attempt}`);
    const err = new Error(`fail ${ctx.attempt}`);
    err.stack = `Error: fail ${ctx.attempt}\n${Array.from({ length: 300 }, (_, i) => `    at f${i} (file:///jobs/deep.ts:${i}:1)`).join('\n')}`;
    throw err;
  },
});

/** A client that counts its reads: waiting must not poll. */
function counting(client: Coordination): { client: Coordination; reads: () => number } {
  let reads = 0;
  const proxy = new Proxy(client, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (prop === 'get' || prop === 'exists' || prop === 'children') {
        return (...args: unknown[]) => {
          reads++;
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { client: proxy, reads: () => reads };
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describeOnBackends('run results: waitForRun, NonRetryableError, attempt history', (env) => {
  async function worker(jobs: Job[] | string, extra: { threads?: number } = {}): Promise<Worker> {
    const w = await startWorker({ connect: env.backend().connectString, root: env.root(), jobs, schedule: false, sessionTimeoutMs: 4_000, ...extra });
    env.defer(() => w.close({ graceMs: 500 }));
    return w;
  }

  it('waitForRun resolves with the succeeded record on the event, reading only when the record changes', async () => {
    const { client, reads } = counting(await env.client());
    await worker([gate as unknown as Job]);
    const started = nextEvent<{ runId: string }>('the start', (d) => bus.once('gate-started', d));
    const runId = await gate.enqueue(client, { label: 's' });
    let sawActive!: () => void;
    const active = new Promise<void>((resolve) => (sawActive = resolve));
    const waiting = waitForRun(client, gate, runId, { timeoutMs: 60_000, onUpdate: (r) => r.state === 'active' && sawActive() });
    await started;
    // The claim's write has reached the waiter (its watch fired, it read the active record).
    await active;
    const before = reads();
    await new Promise((r) => setTimeout(r, 1_200));
    // Nothing changed on the record while the handler ran: not one read.
    expect(reads()).toBe(before);
    const openedAt = Date.now();
    bus.emit('open-s');
    const rec = await waiting;
    expect(Date.now() - openedAt).toBeLessThan(3_000);
    expect(rec).toMatchObject({ id: runId, state: 'succeeded', result: 'opened s', attempt: 1 });
    expect(rec.attempts).toBeUndefined(); // a first-attempt success is the record itself
    // Already finished: the first read answers.
    expect(await waitForRun(client, 'rr-gate', runId)).toEqual(rec);
  });

  it('waitForRun: cancelled, timeout (the run goes on), abort, unknown runs', async () => {
    const client = await env.client();
    await worker([gate as unknown as Job]);
    const started = nextEvent<{ runId: string }>('the start', (d) => bus.once('gate-started', d));
    const runId = await gate.enqueue(client, { label: 'c' });
    await started;

    const t0 = Date.now();
    const timedOut = await rejection(waitForRun(client, 'rr-gate', runId, { timeoutMs: 300 }));
    expect(isDroverError(timedOut, 'DROVER_WAIT_TIMEOUT')).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect((await getRun(client, 'rr-gate', runId)).state).toBe('active');

    const ac = new AbortController();
    const reason = new Error('stop waiting');
    const aborted = rejection(waitForRun(client, 'rr-gate', runId, { signal: ac.signal }));
    setTimeout(() => ac.abort(reason), 100);
    expect(await aborted).toBe(reason);
    expect(await rejection(waitForRun(client, 'rr-gate', runId, { signal: AbortSignal.abort(reason) }))).toBe(reason);

    const waiting = waitForRun(client, 'rr-gate', runId, { timeoutMs: 60_000 });
    expect(await cancelRun(client, 'rr-gate', runId)).toBe('cancel-requested');
    const rec = await waiting;
    expect(rec.state).toBe('cancelled');
    expect(rec.attempts).toMatchObject([{ attempt: 1, outcome: 'cancelled', error: { code: 'DROVER_CANCELLED' } }]);

    expect(isDroverError(await rejection(waitForRun(client, 'rr-gate', 'r-000000000-nosuchru')), 'DROVER_RUN_NOT_FOUND')).toBe(true);
    expect(isDroverError(await rejection(waitForRun(client, 'rr-gate', 'b-000000000-nosuchbu.3')), 'DROVER_RUN_NOT_FOUND')).toBe(true);
  });

  for (const lose of [false, true]) {
    it(`waitForRun keeps waiting across ${lose ? 'LOST (a new session, its watch gone)' : 'SUSPENDED (the same session)'}: it reads again on RECONNECTED`, async () => {
      const client = await env.client();
      await worker([gate as unknown as Job]);
      const { client: cut, proxy } = await env.proxied({ sessionTimeoutMs: lose ? 2_000 : 8_000 });
      const label = lose ? 'lost' : 'suspended';
      const started = nextEvent<{ runId: string }>('the start', (d) => bus.once('gate-started', d));
      const runId = await gate.enqueue(client, { label });
      await started;
      let sawActive!: () => void;
      const active = new Promise<void>((resolve) => (sawActive = resolve));
      const waiting = waitForRun(cut, 'rr-gate', runId, { timeoutMs: 60_000, onUpdate: (r) => r.state === 'active' && sawActive() });
      await active;
      const suspended = nextState(cut, 'SUSPENDED');
      proxy.cut();
      await suspended;
      // The run finishes while the waiter is cut off.
      bus.emit(`open-${label}`);
      await waitForRun(client, 'rr-gate', runId, { timeoutMs: 20_000 });
      if (lose) await nextState(cut, 'LOST');
      const reconnected = nextState(cut, 'RECONNECTED');
      proxy.restore();
      expect((await reconnected).sessionChanged).toBe(lose);
      expect((await waiting).state).toBe('succeeded');
    });
  }

  it('a dead run keeps every attempt: attempt 1 error (class, message, stack) survives attempt 2 failing differently', async () => {
    const client = await env.client();
    await worker([failing as unknown as Job]);
    const runId = await failing.enqueue(client, null);
    const rec = await waitForRun(client, failing, runId, { timeoutMs: 20_000 });
    expect(rec.state).toBe('dead');
    expect(rec.attempt).toBe(2);
    expect(rec.error).toEqual({ code: 'E_SECOND', name: 'RangeError', message: 'second' });
    const [a1, a2] = rec.attempts ?? [];
    expect(rec.attempts).toHaveLength(2);
    expect(a1).toMatchObject({ attempt: 1, outcome: 'failed', error: { code: 'DROVER_HANDLER_FAILED', name: 'TypeError', message: 'first' } });
    expect(a2).toMatchObject({ attempt: 2, outcome: 'failed', error: { code: 'E_SECOND', name: 'RangeError', message: 'second' } });
    for (const a of [a1!, a2!]) {
      expect(a.worker).toMatch(/^w-\d{10}$/);
      expect(a.startedAt).toBeLessThanOrEqual(a.finishedAt);
      expect(a.error?.stack?.startsWith('    at ')).toBe(true);
      expect(a.logs?.at(-1)?.msg).toBe(`trying ${a.attempt}`);
      const fields = a.logs?.at(-1)?.fields ?? {};
      expect(fields).toMatchObject({ attempt: a.attempt, small: 1 });
      expect(JSON.stringify(fields).length).toBeLessThanOrEqual(RUN_LOG_FIELDS_CHARS_MAX);
      expect(String(fields['big'])).toMatch(/^x+…$/);
    }
    expect(a1!.error?.stack).toContain('firstThrower');
    // The top-level lines keep their fields too.
    expect(rec.logs?.at(-1)?.fields).toMatchObject({ attempt: 2, small: 1 });
  });

  it('keeps the last 10 attempts within the byte budget, stacks cut at a frame', async () => {
    const client = await env.client();
    await worker([many as unknown as Job]);
    const runId = await many.enqueue(client, null);
    const rec = await waitForRun(client, many, runId, { timeoutMs: 30_000 });
    expect(rec.state).toBe('dead');
    expect(rec.attempt).toBe(12);
    const attempts = rec.attempts ?? [];
    expect(attempts.map((a) => a.attempt)).toEqual(Array.from({ length: RUN_ATTEMPTS_MAX }, (_, i) => i + 3));
    for (const a of attempts) expect(a.error?.message).toBe(`fail ${a.attempt}`);
    expect(Buffer.byteLength(JSON.stringify(attempts))).toBeLessThanOrEqual(RUN_ATTEMPTS_BYTES_MAX);
    const newest = attempts.at(-1)!;
    expect(newest.logs?.[0]).toMatchObject({ msg: 'attempt 12', fields: { attempt: 12 } });
    const stack = newest.error?.stack ?? '';
    expect(stack.length).toBeLessThanOrEqual(RUN_ERROR_STACK_CHARS_MAX);
    expect(stack.startsWith('    at f0 (')).toBe(true);
    expect(stack.endsWith(')')).toBe(true); // whole frames only
  });

  it('NonRetryableError dead-letters at once (any copy of the class); a bundled run too, while its neighbours go on', async () => {
    const client = await env.client();
    await worker([refusing, bundled] as unknown as Job[]);
    nonRetryAttempts = 0;
    const own = await waitForRun(client, refusing, await refusing.enqueue(client, {}), { timeoutMs: 20_000 });
    expect(own).toMatchObject({ state: 'dead', attempt: 1, error: { code: 'DROVER_NON_RETRYABLE', name: 'NonRetryableError', message: 'refused' } });
    expect(own.attempts).toMatchObject([{ attempt: 1, outcome: 'failed', error: { name: 'NonRetryableError' } }]);
    const foreign = await waitForRun(client, refusing, await refusing.enqueue(client, { foreign: true }), { timeoutMs: 20_000 });
    expect(foreign).toMatchObject({ state: 'dead', attempt: 1, error: { name: 'ForeignNonRetryable', message: 'refused by a foreign copy' } });
    expect(nonRetryAttempts).toBe(2);

    const ids = await enqueueWith(client, 'rr-bundled', [
      { input: { n: 0, mode: 'ok' } },
      { input: { n: 1, mode: 'refuse' } },
      { input: { n: 2, mode: 'flaky' } },
    ]);
    expect(ids.every((id) => /^b-.+\.\d$/.test(id))).toBe(true);
    const [ok, refused, flaky] = (await Promise.all(ids.map((id) => waitForRun(client, 'rr-bundled', id, { timeoutMs: 20_000 })))) as [RunRecord, RunRecord, RunRecord];
    expect(ok).toMatchObject({ state: 'succeeded', result: 'ok 0/1' });
    expect(refused).toMatchObject({ state: 'dead', attempt: 1, error: { code: 'E_NO', name: 'NonRetryableError', message: 'no 1' } });
    expect(refused.attempts).toHaveLength(1);
    expect(refused.attempts?.[0]?.error?.stack).toBeDefined();
    expect(flaky).toMatchObject({ state: 'succeeded', attempt: 2, result: 'ok 2/2' });
    expect(flaky.attempts).toMatchObject([{ attempt: 1, outcome: 'failed', error: { name: 'Error', message: 'flaky 2' } }]);
  });

  it('through a handler thread: classes, codes, stacks and log fields cross to the record', async () => {
    const client = await env.client();
    await worker(FIXTURE, { threads: 1 });
    const runId = await enqueueWith(client, 'rr-threaded', [{ input: {} }]).then((ids) => ids[0]!);
    const rec = await waitForRun(client, 'rr-threaded', runId, { timeoutMs: 20_000 });
    expect(rec).toMatchObject({ state: 'dead', attempt: 2, error: { code: 'E_GONE', name: 'NonRetryableError', message: 'gone for good' } });
    const [a1, a2] = rec.attempts ?? [];
    expect(a1).toMatchObject({ attempt: 1, outcome: 'failed', error: { code: 'DROVER_HANDLER_FAILED', name: 'TypeError', message: 'bad response on attempt 1' } });
    expect(a1?.error?.stack).toContain('threadedHandler');
    expect(a2).toMatchObject({ attempt: 2, error: { code: 'E_GONE', name: 'NonRetryableError' } });
    expect(a1?.logs?.[0]?.fields).toMatchObject({ attempt: 1, url: 'https://example.com/a' });
    expect(JSON.stringify(a1?.logs?.[0]?.fields).length).toBeLessThanOrEqual(RUN_LOG_FIELDS_CHARS_MAX);

    const okId = (await enqueueWith(client, 'rr-threaded', [{ input: { ok: true } }]))[0]!;
    const ok = await waitForRun(client, 'rr-threaded', okId, { timeoutMs: 20_000 });
    expect(ok).toMatchObject({ state: 'succeeded', result: 'fine' });
    expect(ok.logs?.[0]).toMatchObject({ level: 'info', msg: 'fetching', fields: { attempt: 1, url: 'https://example.com/a' } });
  });
});
