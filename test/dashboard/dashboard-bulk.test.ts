/**
 * The dashboard's bulk actions and job insights, over HTTP (app.inject) on
 * both backends: retry-all of dead runs (plain and bundled) that then
 * succeed, retry-all across pages (120 dead runs, and failed runs from
 * history), clean older than an age (history and dead, bundles whole or not
 * at all), promote a delayed run, remove a job (refused while served),
 * search by run id, and per-job stats on known data. Finished runs written
 * by hand are written as a worker's finish writes them: record + history
 * entry in its state's directory (or dead-letter node), at chosen end
 * times; a bundle gets one entry per final state among its runs.
 */
import { expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildDashboard } from '../../dashboard/index.ts';
import type { Coordination, Op } from '../../shared/client/coordination.ts';
import { defineJob } from '../../shared/jobs/define-job.ts';
import { enqueue, enqueueWith } from '../../shared/jobs/enqueue.ts';
import { jobCounts } from '../../shared/jobs/job-counts.ts';
import { publishJob } from '../../shared/jobs/job-dirs.ts';
import type { BundleRecord, RunRecord, RunState } from '../../shared/jobs/job-types.ts';
import { historyCreateOps } from '../../shared/jobs/history-entries.ts';
import { layout } from '../../shared/jobs/layout.ts';
import { getRun } from '../../shared/jobs/run-admin.ts';
import { RETRY_ALL_PAGE_RUNS } from '../../shared/jobs/run-retry-all.ts';
import { encodeBundle, encodeRecord } from '../../shared/jobs/run-codec.ts';
import { bundledRunId, newBundleId, newRunId } from '../../shared/jobs/run-id.ts';
import { waitForRun } from '../../shared/jobs/wait-for-run.ts';
import { NonRetryableError } from '../../shared/non-retryable-error.ts';
import { startWorker } from '../../worker/index.ts';
import { describeOnBackends, type BackendEnv } from '../helpers/backends.ts';

/** While set, odd inputs (all of them for the plain job) are refused for good: dead at once. */
let refusing = true;
const flaky = defineJob<number, number>({
  name: 'bk-flaky',
  concurrency: 8,
  run: (_ctx, n) => {
    if (refusing) throw new NonRetryableError(`not now ${n}`);
    return n;
  },
});
const flakyBundled = defineJob<number, number>({
  name: 'bk-flaky-b',
  bundle: 4,
  concurrency: 4,
  run: (_ctx, n) => {
    if (refusing && n % 2 === 1) throw new NonRetryableError(`not now ${n}`);
    return n;
  },
});
const quiet = defineJob<number, number>({ name: 'bk-quiet', run: (_ctx, n) => n });
const quietToo = defineJob<number, number>({ name: 'bk-quiet-2', bundle: 4, run: (_ctx, n) => n });

const MIN = 60_000;
const HOUR = 60 * MIN;

interface Finished {
  id?: string;
  state: RunState;
  finishedAt: number;
  /** Duration of its last attempt (none: it never started). */
  tookMs?: number;
}

function runRecord(job: string, r: Finished, id: string): RunRecord {
  const rec: RunRecord = { v: 1, id, job, state: r.state, input: null, attempt: 1, maxAttempts: 1, priority: 5, enqueuedAt: r.finishedAt - 10_000, finishedAt: r.finishedAt };
  if (r.tookMs !== undefined) rec.startedAt = r.finishedAt - r.tookMs;
  if (r.state === 'failed' || r.state === 'dead') rec.error = { code: 'DROVER_NON_RETRYABLE', message: 'no' };
  return rec;
}

/** Finished runs of their own, as the worker's finish leaves them; resolves to their ids. */
async function writeFinished(client: Coordination, job: string, runs: Finished[]): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < runs.length; i += 200) {
    const ops: Op[] = [];
    for (const r of runs.slice(i, i + 200)) {
      const id = r.id ?? newRunId(r.finishedAt - 10_000);
      ids.push(id);
      const record = runRecord(job, r, id);
      ops.push({ op: 'create', path: layout.run(job, id), data: encodeRecord(record) });
      ops.push(...(r.state === 'dead' ? [{ op: 'create', path: layout.deadRun(job, id) } as Op] : historyCreateOps(job, id, r.finishedAt, [record])));
    }
    await client.multi(ops);
  }
  return ids;
}

/** A done bundle of runs in these states, ended at `end`: record, history entries (one per final state), dead-letter nodes of its dead runs. */
async function writeDoneBundle(client: Coordination, job: string, states: RunState[], end: number): Promise<string> {
  const id = newBundleId(end - 10_000);
  const runs = states.map((state, k) => runRecord(job, { state, finishedAt: end, tookMs: 5 }, bundledRunId(id, k)));
  const bundle: BundleRecord = { v: 1, kind: 'bundle', id, job, state: 'done', priority: 5, enqueuedAt: end - 10_000, finishedAt: end, runs };
  await client.multi([
    { op: 'create', path: layout.run(job, id), data: encodeBundle(bundle) },
    ...historyCreateOps(job, id, end, runs),
    ...runs.filter((r) => r.state === 'dead').map((r): Op => ({ op: 'create', path: layout.deadRun(job, r.id) })),
  ]);
  return id;
}

async function dashboard(env: BackendEnv): Promise<{ client: Coordination; app: FastifyInstance }> {
  const client = await env.client();
  const app = await buildDashboard({ client, connect: env.backend().connectString, probeIntervalMs: 60_000 });
  env.defer(() => app.close());
  return { client, app };
}

async function post(app: FastifyInstance, url: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await app.inject({ method: 'POST', url, ...(body !== undefined ? { payload: body as Record<string, unknown> } : {}) });
  return { status: res.statusCode, json: res.json<Record<string, unknown>>() };
}

async function get<T>(app: FastifyInstance, url: string): Promise<T> {
  const res = await app.inject({ method: 'GET', url });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<T>();
}

describeOnBackends('dashboard: bulk actions, search, stats', (env) => {
  it('retry-all dead queues every dead run again (plain and bundled), and they succeed once the handler does', { timeout: 60_000 }, async () => {
    const { client, app } = await dashboard(env);
    refusing = true;
    const workerClient = await env.client();
    const worker = await startWorker({ client: workerClient, jobs: [flaky, flakyBundled], name: 'bk', schedule: false });
    env.defer(() => worker.close({ graceMs: 0 }));
    const plain = await enqueueWith(client, 'bk-flaky', Array.from({ length: 5 }, (_, i) => ({ input: i })));
    const bundled = await enqueueWith(client, 'bk-flaky-b', Array.from({ length: 8 }, (_, i) => ({ input: i })));
    for (const id of plain) expect((await waitForRun(client, 'bk-flaky', id, { timeoutMs: 20_000 })).state).toBe('dead');
    const ends = await Promise.all(bundled.map((id) => waitForRun(client, 'bk-flaky-b', id, { timeoutMs: 20_000 })));
    expect(ends.map((r) => r.state)).toEqual(bundled.map((_, i) => (i % 2 === 1 ? 'dead' : 'succeeded')));

    refusing = false;
    expect(await post(app, '/api/jobs/bk-flaky/retry-all', { state: 'dead' })).toEqual({ status: 200, json: { retried: 5, skipped: 0 } });
    expect(await post(app, '/api/jobs/bk-flaky-b/retry-all', { state: 'dead' })).toEqual({ status: 200, json: { retried: 4, skipped: 0 } });
    for (const id of plain) expect((await waitForRun(client, 'bk-flaky', id, { timeoutMs: 20_000 })).state).toBe('succeeded');
    for (const id of bundled) expect((await waitForRun(client, 'bk-flaky-b', id, { timeoutMs: 20_000 })).state).toBe('succeeded');
    // A fresh budget: the dead attempt is free, the retry's is the one that counted.
    expect(await getRun(client, 'bk-flaky', plain[0] as string)).toMatchObject({ attempt: 2, freeAttempts: 1 });
    expect(await jobCounts(client, 'bk-flaky')).toMatchObject({ dead: 0, finished: 5 });
    expect(await jobCounts(client, 'bk-flaky-b')).toMatchObject({ dead: 0 });

    expect(await post(app, '/api/jobs/bk-flaky/retry-all', { state: 'dead' })).toEqual({ status: 200, json: { retried: 0, skipped: 0 } });
    const bad = await post(app, '/api/jobs/bk-flaky/retry-all', { state: 'succeeded' });
    expect(bad).toMatchObject({ status: 400, json: { error: { code: 'DROVER_INVALID_ARGUMENT' } } });
    expect(await post(app, '/api/jobs/bk-nope/retry-all', { state: 'dead' })).toMatchObject({ status: 404, json: { error: { code: 'DROVER_UNKNOWN_JOB' } } });
  });

  it('retry-all walks more than one page: 120 dead runs, then the failed ones in history', { timeout: 60_000 }, async () => {
    const { client, app } = await dashboard(env);
    await publishJob(client, quiet.spec);
    expect(120).toBeGreaterThan(RETRY_ALL_PAGE_RUNS);
    const now = Date.now();
    const dead = await writeFinished(client, 'bk-quiet', Array.from({ length: 120 }, (_, i) => ({ state: 'dead' as const, finishedAt: now - 1000 + i, tookMs: 3 })));
    const failed = await writeFinished(client, 'bk-quiet', [
      ...Array.from({ length: 3 }, (_, i) => ({ state: 'failed' as const, finishedAt: now - 500 + i })),
      { state: 'succeeded', finishedAt: now - 400 },
    ]);
    expect(await post(app, '/api/jobs/bk-quiet/retry-all', { state: 'dead' })).toEqual({ status: 200, json: { retried: 120, skipped: 0 } });
    expect(await post(app, '/api/jobs/bk-quiet/retry-all', { state: 'failed' })).toEqual({ status: 200, json: { retried: 3, skipped: 0 } });
    expect(await jobCounts(client, 'bk-quiet')).toMatchObject({ waiting: 123, succeeded: 1, failed: 0, dead: 0, finished: 1 });
    for (const id of [...dead, ...failed.slice(0, 3)]) {
      const r = await getRun(client, 'bk-quiet', id);
      expect(r).toMatchObject({ state: 'queued', attempt: 1, freeAttempts: 1 });
      expect(r.finishedAt).toBeUndefined();
      expect(r.error).toBeUndefined();
    }
    expect((await getRun(client, 'bk-quiet', failed[3] as string)).state).toBe('succeeded');
  });

  it('retry-all skips the dead runs of a bundle a worker holds (writing it would fence the worker)', async () => {
    const { client, app } = await dashboard(env);
    await publishJob(client, quietToo.spec);
    const J = 'bk-quiet-2';
    const now = Date.now();
    const id = newBundleId(now);
    const runs = [runRecord(J, { state: 'dead', finishedAt: now - MIN, tookMs: 5 }, bundledRunId(id, 0)), { ...runRecord(J, { state: 'queued', finishedAt: now }, bundledRunId(id, 1)), state: 'active' as const, finishedAt: undefined }];
    const held: BundleRecord = { v: 1, kind: 'bundle', id, job: J, state: 'active', worker: 'w-0000000001', startedAt: now, priority: 5, enqueuedAt: now - HOUR, runs };
    await client.multi([
      { op: 'create', path: layout.run(J, id), data: encodeBundle(held) },
      { op: 'create', path: layout.deadRun(J, bundledRunId(id, 0)) },
    ]);
    const [plain] = await writeFinished(client, J, [{ state: 'dead', finishedAt: now - MIN }]);
    expect(await post(app, `/api/jobs/${J}/retry-all`, { state: 'dead' })).toEqual({ status: 200, json: { retried: 1, skipped: 1 } });
    expect((await getRun(client, J, bundledRunId(id, 0))).state).toBe('dead');
    expect((await getRun(client, J, plain as string)).state).toBe('queued');
  });

  it('clean deletes finished runs older than the age, oldest first, keeping newer ones and mixed bundles', { timeout: 60_000 }, async () => {
    const { client, app } = await dashboard(env);
    await publishJob(client, quietToo.spec);
    const J = 'bk-quiet-2';
    const now = Date.now();
    const [oldOk, oldOk2, newOk, oldFailed, oldCancelled, newFailed] = await writeFinished(client, J, [
      { state: 'succeeded', finishedAt: now - 3 * HOUR },
      { state: 'succeeded', finishedAt: now - 2 * HOUR },
      { state: 'succeeded', finishedAt: now - 10 * MIN },
      { state: 'failed', finishedAt: now - 3 * HOUR },
      { state: 'cancelled', finishedAt: now - 2 * HOUR },
      { state: 'failed', finishedAt: now - 5 * MIN },
    ]);
    const [oldDead, newDead] = await writeFinished(client, J, [
      { state: 'dead', finishedAt: now - 3 * HOUR },
      { state: 'dead', finishedAt: now - 5 * MIN },
    ]);
    const allOk = await writeDoneBundle(client, J, ['succeeded', 'succeeded', 'succeeded'], now - 3 * HOUR);
    const mixed = await writeDoneBundle(client, J, ['succeeded', 'dead'], now - 3 * HOUR);
    const allDead = await writeDoneBundle(client, J, ['dead', 'dead'], now - 3 * HOUR);
    const gone = async (id: string) => (await client.exists(layout.run(J, id))) === null;
    // Per state from its own directory: a bundle counts once per state its runs ended in, the all-dead one nowhere in history.
    expect(await jobCounts(client, J)).toMatchObject({ succeeded: 5, failed: 2, cancelled: 1, dead: 5, finished: 8 });

    expect(await post(app, `/api/jobs/${J}/clean`, { olderThanMs: HOUR, state: 'succeeded' })).toEqual({ status: 200, json: { removed: 5 } });
    for (const id of [oldOk, oldOk2, allOk] as string[]) expect(await gone(id)).toBe(true);
    for (const id of [newOk, oldFailed, oldCancelled, mixed] as string[]) expect(await gone(id)).toBe(false);
    expect(await client.exists(layout.historyEntry(J, 'succeeded', now - 3 * HOUR, oldOk as string))).toBeNull();

    expect(await post(app, `/api/jobs/${J}/clean`, { olderThanMs: HOUR, state: 'finished' })).toEqual({ status: 200, json: { removed: 2 } });
    for (const id of [oldFailed, oldCancelled] as string[]) expect(await gone(id)).toBe(true);
    for (const id of [newOk, newFailed, mixed] as string[]) expect(await gone(id)).toBe(false);

    // Dead: the old one and the all-dead bundle (record and both dead-letter nodes: it has no history entry); the mixed bundle stays.
    expect(await post(app, `/api/jobs/${J}/clean`, { olderThanMs: HOUR, state: 'dead' })).toEqual({ status: 200, json: { removed: 3 } });
    for (const id of [oldDead, allDead] as string[]) expect(await gone(id)).toBe(true);
    expect(await client.exists(layout.deadRun(J, oldDead as string))).toBeNull();
    expect(await client.exists(layout.deadRun(J, bundledRunId(allDead, 1)))).toBeNull();
    for (const id of [newDead, mixed] as string[]) expect(await gone(id)).toBe(false);
    // Left: newOk and the mixed bundle's succeeded entry, newFailed; the two dead.
    expect(await jobCounts(client, J)).toMatchObject({ succeeded: 2, failed: 1, cancelled: 0, dead: 2, finished: 3 });

    // Nothing old is left: cleaning again removes nothing; a bad age is a 400.
    expect(await post(app, `/api/jobs/${J}/clean`, { olderThanMs: HOUR, state: 'succeeded' })).toEqual({ status: 200, json: { removed: 0 } });
    expect(await post(app, `/api/jobs/${J}/clean`, { olderThanMs: -1, state: 'dead' })).toMatchObject({ status: 400, json: { error: { code: 'DROVER_INVALID_ARGUMENT' } } });
    expect(await post(app, `/api/jobs/${J}/clean`, { olderThanMs: 1, state: 'waiting' })).toMatchObject({ status: 400 });
    // Age 0: everything finished goes (the mixed bundle still needs every run to qualify).
    expect(await post(app, `/api/jobs/${J}/clean`, { olderThanMs: 0, state: 'finished' })).toEqual({ status: 200, json: { removed: 2 } });
    expect(await jobCounts(client, J)).toMatchObject({ succeeded: 1, failed: 0, cancelled: 0, dead: 2, finished: 1 });
  });

  it('promote makes a delayed run waiting at once; a run that is not delayed is a 409', async () => {
    const { client, app } = await dashboard(env);
    await publishJob(client, quiet.spec);
    const id = await enqueue(client, 'bk-quiet', 1, { delayMs: HOUR });
    expect(await jobCounts(client, 'bk-quiet')).toMatchObject({ delayed: 1, waiting: 0 });
    expect(await post(app, `/api/runs/bk-quiet/${id}/promote`)).toEqual({ status: 200, json: { ok: true } });
    expect(await jobCounts(client, 'bk-quiet')).toMatchObject({ delayed: 0, waiting: 1 });
    const run = await getRun(client, 'bk-quiet', id);
    expect(run.state).toBe('queued');
    expect(run.dueAt).toBeUndefined();
    const page = await get<{ runs: { id: string }[] }>(app, '/api/jobs/bk-quiet/runs?state=waiting');
    expect(page.runs.map((r) => r.id)).toEqual([id]);

    expect(await post(app, `/api/runs/bk-quiet/${id}/promote`)).toMatchObject({ status: 409, json: { error: { code: 'DROVER_RUN_STATE' } } });
    expect(await post(app, '/api/runs/bk-quiet/r-000000000-nothere0/promote')).toMatchObject({ status: 404, json: { error: { code: 'DROVER_RUN_NOT_FOUND' } } });
  });

  it('remove is refused while a worker serves the job, then removes it', { timeout: 60_000 }, async () => {
    const { client, app } = await dashboard(env);
    const workerClient = await env.client();
    const worker = await startWorker({ client: workerClient, jobs: [quiet], name: 'bk-rm', schedule: false });
    env.defer(() => worker.close({ graceMs: 0 }));
    const id = await enqueue(client, 'bk-quiet', 1);
    await waitForRun(client, 'bk-quiet', id, { timeoutMs: 20_000 });

    const refused = await post(app, '/api/jobs/bk-quiet/remove', {});
    expect(refused).toMatchObject({ status: 409, json: { error: { code: 'DROVER_JOB_IN_USE' } } });
    expect(await client.exists(layout.job('bk-quiet'))).not.toBeNull();

    await worker.close({ graceMs: 0 });
    await workerClient.close();
    expect(await post(app, '/api/jobs/bk-quiet/remove', { force: false })).toEqual({ status: 200, json: { ok: true } });
    expect(await client.exists(layout.job('bk-quiet'))).toBeNull();
    expect(await client.exists(layout.run('bk-quiet', id))).toBeNull();
    expect(await post(app, '/api/jobs/bk-quiet/remove')).toMatchObject({ status: 404, json: { error: { code: 'DROVER_UNKNOWN_JOB' } } });
    expect(await post(app, '/api/jobs/bk-quiet/remove', { force: 'yes please' })).toMatchObject({ status: 400 });
  });

  it('search finds a run in its job(s), a bundled run in its bundle, and nothing for an unknown id', async () => {
    const { client, app } = await dashboard(env);
    await publishJob(client, quiet.spec);
    await publishJob(client, quietToo.spec);
    const solo = await enqueue(client, 'bk-quiet', 1);
    const bundled = await enqueueWith(client, 'bk-quiet-2', Array.from({ length: 4 }, (_, i) => ({ input: i })));
    await enqueue(client, 'bk-quiet', 1, { runId: 'twice' });
    await enqueue(client, 'bk-quiet-2', 2, { runId: 'twice' });

    type Found = { runs: { job: string; id: string; state: string; path: string }[] };
    expect(await get<Found>(app, `/api/search?runId=${solo}`)).toEqual({ runs: [{ job: 'bk-quiet', id: solo, state: 'queued', path: `/runs/bk-quiet/${solo}` }] });
    const b2 = bundled[2] as string;
    expect(await get<Found>(app, `/api/search?runId=${b2}`)).toEqual({ runs: [{ job: 'bk-quiet-2', id: b2, state: 'queued', path: `/runs/bk-quiet-2/${b2.split('.')[0]}` }] });
    expect((await get<Found>(app, '/api/search?runId=twice')).runs.map((r) => r.job)).toEqual(['bk-quiet', 'bk-quiet-2']);
    expect(await get<Found>(app, '/api/search?runId=r-000000000-nothere0')).toEqual({ runs: [] });
    expect(await get<Found>(app, `/api/search?runId=${b2.split('.')[0]}.9`)).toEqual({ runs: [] });
    for (const bad of ['a%2Fb', '', '..', `${'x'.repeat(200)}`]) {
      const res = await app.inject({ method: 'GET', url: `/api/search?runId=${bad}` });
      expect(res.statusCode, bad).toBe(400);
    }
    expect((await app.inject({ method: 'GET', url: '/api/search' })).statusCode).toBe(400);
  });

  it('stats: throughput, duration p50/p95, failure rate and series from history and dead runs', async () => {
    const { client, app } = await dashboard(env);
    await publishJob(client, quiet.spec);
    type Stats = { window: { from: number; to: number; runs: number }; bucketMs: number; throughputPerMin: number; durationMs: { p50: number | null; p95: number | null }; outcomes: { succeeded: number; failed: number; dead: number; cancelled: number }; failureRate: number; series: { at: number; finished: number; failures: number }[] };
    const empty = await get<Stats>(app, '/api/jobs/bk-quiet/stats');
    expect(empty).toMatchObject({ window: { runs: 0 }, throughputPerMin: 0, durationMs: { p50: null, p95: null }, failureRate: 0, series: [] });

    const now = Date.now();
    // 8 succeeded (100..800 ms), 2 failed (900, 1000 ms), 2 dead (50, 60 ms), 1 cancelled before it started: one a minute.
    const outcomes: Omit<Finished, 'finishedAt'>[] = [
      ...Array.from({ length: 8 }, (_, i) => ({ state: 'succeeded' as const, tookMs: 100 * (i + 1) })),
      { state: 'failed', tookMs: 900 },
      { state: 'failed', tookMs: 1000 },
      { state: 'dead', tookMs: 50 },
      { state: 'dead', tookMs: 60 },
      { state: 'cancelled' },
    ];
    const runs = outcomes.map((r, i): Finished => ({ ...r, finishedAt: now - (i + 1) * MIN }));
    await writeFinished(client, 'bk-quiet', runs);

    const s = await get<Stats>(app, '/api/jobs/bk-quiet/stats');
    expect(s.window.runs).toBe(13);
    expect(s.window.from).toBe(now - 13 * MIN);
    expect(s.window.to).toBeGreaterThanOrEqual(now);
    // Nearest rank over 50, 60, 100, ..., 1000 (12 runs that started).
    expect(s.durationMs).toEqual({ p50: 400, p95: 1000 });
    // Named as the job page's tabs: failed (2) and dead (2) apart, both failures.
    expect(s.outcomes).toEqual({ succeeded: 8, failed: 2, dead: 2, cancelled: 1 });
    expect(s.failureRate).toBeCloseTo(4 / 12, 10);
    expect(s.throughputPerMin).toBeCloseTo((13 * MIN) / (s.window.to - s.window.from), 10);
    expect(s.bucketMs).toBe(MIN);
    expect(s.series.reduce((n, b) => n + b.finished, 0)).toBe(13);
    expect(s.series.reduce((n, b) => n + b.failures, 0)).toBe(4);
    expect(s.series[0]?.at).toBe(Math.floor((now - 13 * MIN) / MIN) * MIN);
    for (let i = 1; i < s.series.length; i++) expect((s.series[i]?.at ?? 0) - (s.series[i - 1]?.at ?? 0)).toBe(MIN);
  });
});
