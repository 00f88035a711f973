/**
 * The job queue on both backends: enqueue -> claim -> run -> result,
 * priority lanes, bad input that writes nothing (the published input
 * schema at every library enqueuer, with or without the definition), and
 * the fence that refuses a stale finish.
 */
import { expect, it } from 'vitest';
import { describeOnBackends } from '../helpers/backends.ts';
import { defineJob } from '../../shared/jobs/define-job.ts';
import { enqueue, enqueueWith } from '../../shared/jobs/enqueue.ts';
import { publishJob } from '../../shared/jobs/job-dirs.ts';
import { layout } from '../../shared/jobs/layout.ts';
import { PAYLOAD_BYTES_MAX } from '../../shared/jobs/limits.ts';
import { isDroverError } from '../../shared/errors.ts';
import type { JobSpec } from '../../shared/jobs/job-types.ts';
import { getRun, pauseJob, queueDepth, resumeJob } from '../../shared/jobs/run-admin.ts';
import { isZkError } from '../../shared/client/zk-error.ts';
import { startWorker } from '../../worker/runtime.ts';
import { Claimer } from '../../worker/runs/claim.ts';
import { FinishBatcher } from '../../worker/runs/finish.ts';
import { pino } from 'pino';
import { childrenGone, finished, snapshotTree, waitForRun } from './jobs-waits.ts';

const silent = pino({ enabled: false });

const add = defineJob<{ a: number; b: number }, number>({
  name: 'q-add',
  input: { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } }, required: ['a', 'b'] },
  validate(input) {
    const i = input as { a?: unknown; b?: unknown };
    if (typeof i?.a !== 'number' || typeof i?.b !== 'number') throw new Error('a and b must be numbers');
    return { a: i.a, b: i.b };
  },
  run: (_ctx, { a, b }) => a + b,
});

const order: string[] = [];
const ordered = defineJob<string, void>({
  name: 'q-ordered',
  run: (_ctx, label) => {
    order.push(label);
  },
});

const grouped = defineJob<number, number>({ name: 'q-grouped', barrier: { size: 2 }, run: (_ctx, n) => n });

const typed = defineJob<{ url: string }, null>({
  name: 'q-typed',
  input: { type: 'object', properties: { url: { type: 'string' } }, required: ['url'] },
  // Local only: the job handle runs it, enqueue by name does not.
  validate(input) {
    const { url } = input as { url: string };
    if (!url.startsWith('https://')) throw new Error('url must be https');
    return { url };
  },
  run: () => null,
});

async function refusal(attempt: () => Promise<unknown>): Promise<{ code?: string; message?: string; details?: Record<string, unknown> }> {
  return attempt().then(
    () => ({}),
    (e: unknown) => e as { code?: string; message?: string; details?: Record<string, unknown> },
  );
}

describeOnBackends('jobs: queue', (env) => {
  function workerOpts(jobs: Parameters<typeof startWorker>[0]['jobs'], extra: Partial<Parameters<typeof startWorker>[0]> = {}) {
    return { connect: env.backend().connectString, root: env.root(), jobs, schedule: false, sessionTimeoutMs: 4_000, ...extra };
  }

  it('publishJob tells which fields replaced a different definition, and writes nothing for the same one', async () => {
    const client = await env.client();
    expect(await publishJob(client, add.spec)).toEqual([]);
    const before = (await client.exists(layout.job(add.name)))?.version;
    expect(await publishJob(client, add.spec)).toEqual([]);
    expect((await client.exists(layout.job(add.name)))?.version).toBe(before);
    const other: JobSpec = { ...add.spec, retries: add.spec.retries + 1, input: { type: 'object', required: ['c'] } };
    expect((await publishJob(client, other)).sort()).toEqual(['input', 'retries']);
    expect(JSON.parse((await client.get(layout.job(add.name))).data.toString()).retries).toBe(other.retries);
  });

  it('enqueue -> a worker runs it -> the result is on the run record', async () => {
    const client = await env.client();
    const worker = await startWorker(workerOpts([add]));
    env.defer(() => worker.close({ graceMs: 1_000 }));
    const runId = await add.enqueue(client, { a: 2, b: 40 });
    const rec = await waitForRun(client, 'q-add', runId, finished);
    expect(rec.state).toBe('succeeded');
    expect(rec.result).toBe(42);
    expect(rec.attempt).toBe(1);
    expect(rec.worker).toBe(worker.id);
    // Finished: its claim group's lease and inflight go once its finish landed, a history entry
    // is present, the queue empty.
    await childrenGone(client, layout.leases('q-add'));
    await childrenGone(client, layout.inflight('q-add'));
    expect((await client.children(layout.historyDir('q-add', 'succeeded'))).some((h) => h.endsWith(runId))).toBe(true);
    expect(await client.children(layout.laneItems('q-add', 5))).toEqual([]);
  });

  it('many runs in one enqueue all complete, each exactly once', async () => {
    const client = await env.client();
    await publishJob(client, add.spec);
    const ids = await enqueueWith(client, 'q-add', Array.from({ length: 300 }, (_, i) => ({ input: { a: i, b: 1 } })));
    expect(new Set(ids).size).toBe(300);
    const worker = await startWorker(workerOpts([add], { concurrency: 20 }));
    env.defer(() => worker.close({ graceMs: 1_000 }));
    const claims = new Map<string, number>();
    worker.onEvent((e) => {
      if (e.type === 'claimed') claims.set(e.runId, (claims.get(e.runId) ?? 0) + 1);
    });
    const recs = await Promise.all(ids.map((id) => waitForRun(client, 'q-add', id, finished, { timeoutMs: 30_000 })));
    expect(recs.map((r) => r.result)).toEqual(ids.map((_, i) => i + 1));
    expect([...claims.values()].every((n) => n === 1)).toBe(true);
  });

  it('three workers racing for one backlog: every run finishes exactly once, none is skipped', async () => {
    const client = await env.client();
    await publishJob(client, add.spec);
    await pauseJob(client, 'q-add');
    const ids = await enqueueWith(client, 'q-add', Array.from({ length: 400 }, (_, i) => ({ input: { a: i, b: 0 } })));
    const claims = new Map<string, number>();
    let finishedCount = 0;
    let allDone!: () => void;
    const done = new Promise<void>((resolve) => (allDone = resolve));
    const workers = await Promise.all([0, 1, 2].map(() => startWorker(workerOpts([add], { concurrency: 10 }))));
    for (const w of workers) {
      env.defer(() => w.close({ graceMs: 1_000 }));
      w.onEvent((e) => {
        if (e.type === 'claimed') claims.set(e.runId, (claims.get(e.runId) ?? 0) + 1);
        if (e.type === 'finished' && e.kind === 'succeeded' && ++finishedCount === ids.length) allDone();
      });
    }
    // Released once every worker is listening (a worker started first would claim before the
    // others' listeners are on, and its claims would go uncounted).
    await resumeJob(client, 'q-add');
    await done;
    expect(claims.size).toBe(ids.length);
    expect([...claims.values()].every((n) => n === 1)).toBe(true);
    // Every run's record went through this member (waitForRun), so it has the last head move too.
    await Promise.all(ids.map((id) => waitForRun(client, 'q-add', id, finished)));
    const tail = Number((await client.get(layout.laneTail('q-add', 5))).data.toString());
    const head = Number((await client.get(layout.laneHead('q-add', 5))).data.toString());
    expect(head).toBe(tail);
  });

  it('lower priority lanes are claimed first', async () => {
    const client = await env.client();
    await publishJob(client, ordered.spec);
    order.length = 0;
    await enqueueWith(client, 'q-ordered', [
      { input: 'low-1', opts: { priority: 9 } },
      { input: 'mid-1', opts: { priority: 5 } },
      { input: 'high-1', opts: { priority: 0 } },
      { input: 'mid-2', opts: { priority: 5 } },
    ]);
    const worker = await startWorker(workerOpts([ordered], { concurrency: 1 }));
    env.defer(() => worker.close({ graceMs: 1_000 }));
    const done = new Promise<void>((resolve) => worker.onEvent((e) => e.type === 'finished' && order.length === 4 && resolve()));
    await done;
    expect(order).toEqual(['high-1', 'mid-1', 'mid-2', 'low-1']);
  });

  it('bad input gets a DROVER_* error and writes nothing', async () => {
    const client = await env.client();
    await publishJob(client, add.spec);
    await publishJob(client, ordered.spec);
    await publishJob(client, grouped.spec);
    await add.enqueue(client, { a: 1, b: 1 }); // the lane exists: a failed enqueue must not touch it
    const before = await snapshotTree(client);
    const attempts: [string, () => Promise<unknown>][] = [
      ['DROVER_INVALID_PAYLOAD', () => add.enqueue(client, { a: 'x' } as never)],
      // q-ordered has no validate: the JSON boundary alone must catch these.
      ['DROVER_INVALID_PAYLOAD', () => enqueue(client, 'q-ordered', { f: () => 1 })],
      ['DROVER_INVALID_PAYLOAD', () => enqueue(client, 'q-ordered', { n: Number.NaN })],
      ['DROVER_INVALID_PAYLOAD', () => enqueue(client, 'q-ordered', { when: new Date() })],
      ['DROVER_PAYLOAD_TOO_LARGE', () => enqueue(client, 'q-ordered', { pad: 'x'.repeat(PAYLOAD_BYTES_MAX) })],
      ['DROVER_UNKNOWN_JOB', () => enqueue(client, 'no-such-job', {})],
      ['DROVER_INVALID_ARGUMENT', () => enqueue(client, 'q-add', { a: 1, b: 2 }, { priority: 12 })],
      ['DROVER_INVALID_ARGUMENT', () => enqueue(client, 'q-grouped', 1)], // a barrier job needs a group id
      ['DROVER_DUPLICATE_RUN', () => enqueueWith(client, 'q-add', [{ input: { a: 1, b: 1 }, opts: { runId: 'same' } }, { input: { a: 1, b: 1 }, opts: { runId: 'same' } }])],
      // One bad item in a batch: the good ones are not written either.
      ['DROVER_INVALID_PAYLOAD', () => enqueueWith(client, 'q-add', [{ input: { a: 1, b: 2 } }, { input: { a: 1 } }])],
    ];
    for (const [code, attempt] of attempts) {
      const err = await attempt().then(
        () => null,
        (e: unknown) => e,
      );
      expect(isDroverError(err) ? err.code : err, code).toBe(code);
    }
    expect(await snapshotTree(client)).toEqual(before);
  });

  it('the input schema refuses bad input by name, in batches and through the handle, naming the field; nothing is written', async () => {
    const client = await env.client();
    await publishJob(client, typed.spec);
    await typed.enqueue(client, { url: 'https://a.example' }); // the lane exists: a refused enqueue must not touch it
    const before = await snapshotTree(client);
    const wrongType = [
      () => enqueue(client, 'q-typed', { url: 5 }),
      () => enqueueWith(client, 'q-typed', [{ input: { url: 'https://ok.example' } }, { input: { url: 5 } }]),
      () => typed.enqueue(client, { url: 5 } as never),
      () => enqueue(client, typed, { url: 5 }),
    ];
    for (const attempt of wrongType) {
      const err = await refusal(attempt);
      expect(err.code).toBe('DROVER_INVALID_PAYLOAD');
      expect(err.message).toMatch(/input\/url must be string/);
      expect(err.details).toMatchObject({ job: 'q-typed', path: '/url' });
    }
    const missing = await refusal(() => enqueue(client, 'q-typed', {}));
    expect(missing).toMatchObject({ code: 'DROVER_INVALID_PAYLOAD', details: { path: '/url' } });
    expect(missing.message).toMatch(/required property 'url'/);
    // validate is the handle's local extra check.
    expect((await refusal(() => typed.enqueue(client, { url: 'http://plain.example' }))).message).toMatch(/url must be https/);
    expect(await snapshotTree(client)).toEqual(before);
    expect((await queueDepth(client, 'q-typed')).total).toBe(1);
    // Good input still goes; by name, validate does not run (only the schema does).
    const id = await enqueue(client, 'q-typed', { url: 'http://plain.example' });
    expect((await getRun(client, 'q-typed', id)).input).toEqual({ url: 'http://plain.example' });
    expect((await queueDepth(client, 'q-typed')).total).toBe(2);
  });

  it('enqueue by name checks the published schema without the job definition, and follows a republished one', async () => {
    const client = await env.client();
    // Written as a worker publishes it, for a job this process never defined.
    const spec: JobSpec = {
      v: 1,
      name: 'q-foreign',
      retries: 0,
      concurrency: 1,
      priority: 5,
      history: { keep: 10, maxAgeMs: 60_000 },
      input: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] },
    };
    await publishJob(client, spec);
    const refused = await refusal(() => enqueue(client, 'q-foreign', { n: 'x' }));
    expect(refused).toMatchObject({ code: 'DROVER_INVALID_PAYLOAD', details: { job: 'q-foreign', path: '/n' } });
    expect(refused.message).toMatch(/input\/n must be integer/);
    expect(await client.children(layout.runs('q-foreign'))).toEqual([]);
    const id = await enqueue(client, 'q-foreign', { n: 1 });
    expect((await getRun(client, 'q-foreign', id)).input).toEqual({ n: 1 });
    // A worker with a newer definition republishes: the next enqueue checks the new schema.
    await publishJob(client, { ...spec, input: { type: 'object', properties: { n: { type: 'string' } }, required: ['n'] } });
    expect((await refusal(() => enqueue(client, 'q-foreign', { n: 2 }))).message).toMatch(/input\/n must be string/);
    await enqueue(client, 'q-foreign', { n: 'two' });
    // A published schema that does not compile refuses every enqueue, writing nothing.
    await publishJob(client, { ...spec, input: { type: 'nope' } });
    expect((await refusal(() => enqueue(client, 'q-foreign', { n: 3 }))).code).toBe('DROVER_INVALID_JOB');
    expect((await client.children(layout.runs('q-foreign'))).length).toBe(2);
  });

  it('a failing extra op of enqueueWith rejects with its ZkError and writes nothing', async () => {
    const client = await env.client();
    await publishJob(client, add.spec);
    await client.ensurePath('/schedules/q-add/fires');
    await client.create(layout.fire('q-add', 1000));
    const before = await snapshotTree(client);
    const err = await enqueueWith(client, 'q-add', [{ input: { a: 1, b: 2 }, opts: { fireTime: 1000 } }], [
      { op: 'create', path: layout.fire('q-add', 1000) },
    ]).catch((e: unknown) => e);
    expect(isZkError(err, 'NODE_EXISTS')).toBe(true);
    expect((err as { opIndex?: number }).opIndex).toBe(0);
    expect(await snapshotTree(client)).toEqual(before);
  });

  it('a compare-and-set at version 0 inside a multi is a real check (the client keeps version 0)', async () => {
    const client = await env.client();
    await client.create('/cas', Buffer.from('a'));
    await client.multi([{ op: 'set', path: '/cas', data: Buffer.from('b'), version: 0 }]);
    await expect(client.multi([{ op: 'set', path: '/cas', data: Buffer.from('c'), version: 0 }])).rejects.toMatchObject({ codeName: 'BAD_VERSION' });
    await expect(client.multi([{ op: 'check', path: '/cas', version: 0 }])).rejects.toMatchObject({ codeName: 'BAD_VERSION' });
    await expect(client.multi([{ op: 'delete', path: '/cas', version: 0 }])).rejects.toMatchObject({ codeName: 'BAD_VERSION' });
    expect((await client.get('/cas')).data.toString()).toBe('b');
  });

  it('a stale finish (the fence moved) is refused with DROVER_FENCED and changes nothing', async () => {
    const client = await env.client();
    await publishJob(client, add.spec);
    const runId = await add.enqueue(client, { a: 1, b: 2 });
    const claimer = new Claimer({ client, job: 'q-add', workerId: () => 'w-test', logger: silent, isCancelRequested: () => false });
    const [claimed] = await claimer.claim(1);
    expect(claimed?.runId).toBe(runId);
    expect(claimed!.fence).toBe(`${runId}:${claimed!.version}`);
    // Someone else moves the record on (as an orphan re-queue would).
    await client.set(layout.run('q-add', runId), (await client.get(layout.run('q-add', runId))).data);
    const before = await snapshotTree(client);
    const finisher = new FinishBatcher(client, silent);
    const result = await finisher.finish({
      job: 'q-add',
      runId,
      version: claimed!.version,
      kind: 'succeeded',
      record: { ...claimed!.record, state: 'succeeded', result: 3, finishedAt: Date.now() },
    });
    expect(result.ok).toBe(false);
    expect(!result.ok && isDroverError(result.error, 'DROVER_FENCED')).toBe(true);
    expect(await snapshotTree(client)).toEqual(before);
  });
});
