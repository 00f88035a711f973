/**
 * Run bundles on both backends (docs/adr/0006-run-bundles.md): many runs
 * in one record, claimed, run and settled as one unit while every run keeps
 * its own outcome — results, retries with backoff, dead letters, cancel of
 * one active run, a too-large result, fencing, hand-back on close. A worker
 * process killed mid-bundle is in worker-process.test.ts.
 */
import { EventEmitter } from 'node:events';
import { expect, it } from 'vitest';
import { describeOnBackends, nextEvent, until } from '../helpers/backends.ts';
import type { Coordination } from '../../shared/client/coordination.ts';
import { defineJob, type Job } from '../../shared/jobs/define-job.ts';
import { enqueueWith } from '../../shared/jobs/enqueue.ts';
import { publishJob } from '../../shared/jobs/job-dirs.ts';
import type { BundleRecord, RunRecord } from '../../shared/jobs/job-types.ts';
import { layout } from '../../shared/jobs/layout.ts';
import { decodeStored, encodeBundle } from '../../shared/jobs/run-codec.ts';
import { splitBundledRunId } from '../../shared/jobs/run-id.ts';
import { startWorker, type Worker } from '../../worker/runtime.ts';
import { finished, waitForRun } from './jobs-waits.ts';

const bus = new EventEmitter();
bus.setMaxListeners(100);

const squares = defineJob<number, number>({
  name: 'b-squares',
  bundle: 8,
  concurrency: 4,
  run: (_ctx, n) => n * n,
});

/** Fails `failTimes` attempts, then succeeds; retries 1 with a 150 ms backoff. */
const shaky = defineJob<{ failTimes: number; n: number }, string>({
  name: 'b-shaky',
  bundle: 8,
  concurrency: 8,
  retries: 1,
  backoff: { type: 'fixed', delayMs: 150 },
  run: (ctx, input) => {
    bus.emit('shaky', { runId: ctx.runId, attempt: ctx.attempt, at: Date.now() });
    if (ctx.attempt <= input.failTimes) throw new Error(`no ${input.n}/${ctx.attempt}`);
    return `ok ${input.n}/${ctx.attempt}`;
  },
});

/** Blocks until released by label or aborted. */
const held = defineJob<{ label: string; big?: boolean }, unknown>({
  name: 'b-held',
  bundle: 4,
  concurrency: 4,
  run: (ctx, input) =>
    new Promise((resolve, reject) => {
      bus.emit('held-started', { label: input.label, runId: ctx.runId, attempt: ctx.attempt });
      ctx.signal.addEventListener('abort', () => {
        bus.emit('held-aborted', { label: input.label, code: (ctx.signal.reason as { code?: string })?.code });
        reject(ctx.signal.reason as Error);
      });
      bus.once(`release-${input.label}`, () => resolve(input.big ? 'x'.repeat(5000) : `done ${input.label}`));
    }),
});

async function readBundle(client: Coordination, job: string, id: string): Promise<{ bundle: BundleRecord; version: number }> {
  const { data, stat } = await client.get(layout.run(job, id));
  const stored = decodeStored(data, id);
  if (stored.kind !== 'bundle') throw new Error(`${id} is not a bundle`);
  return { bundle: stored.bundle, version: stat.version };
}

function bundleOf(runId: string): string {
  const split = splitBundledRunId(runId);
  if (!split) throw new Error(`${runId} is not a bundled run id`);
  return split.bundleId;
}

describeOnBackends('worker: bundles', (env) => {
  async function worker(jobs: Job[], extra: { concurrency?: number } = {}): Promise<Worker> {
    const w = await startWorker({ connect: env.backend().connectString, root: env.root(), jobs: jobs as Job<never, unknown>[] as Job[], schedule: false, sessionTimeoutMs: 4_000, ...extra });
    env.defer(() => w.close({ graceMs: 500 }));
    return w;
  }

  /** The b-held runs started from now on, label -> runId (listening until the test ends). */
  function heldStarts(): Map<string, string> {
    const started = new Map<string, string>();
    const on = (e: { label: string; runId: string }) => started.set(e.label, e.runId);
    bus.on('held-started', on);
    env.defer(() => {
      bus.off('held-started', on);
    });
    return started;
  }

  it('runs every run of every bundle once, each with its own result; one history entry per bundle', async () => {
    const client = await env.client();
    await publishJob(client, squares.spec);
    const ids = await enqueueWith(client, 'b-squares', Array.from({ length: 20 }, (_, i) => ({ input: i })));
    const bundles = [...new Set(ids.map(bundleOf))];
    expect(bundles).toHaveLength(3); // 8 + 8 + 4
    expect(ids.map((id) => splitBundledRunId(id)?.index)).toEqual([...Array(8).keys(), ...Array(8).keys(), 0, 1, 2, 3]);
    // Per bundle: one record and one lane item, not one per run.
    expect((await client.children(layout.runs('b-squares'))).sort()).toEqual([...bundles].sort());
    const w = await worker([squares]);
    const claimed: string[] = [];
    w.onEvent((e) => e.type === 'claimed' && claimed.push(e.runId));
    const records = await Promise.all(ids.map((id) => waitForRun(client, 'b-squares', id, finished)));
    records.forEach((r, i) => {
      expect(r.id).toBe(ids[i]);
      expect(r.state).toBe('succeeded');
      expect(r.result).toBe(i * i);
      expect(r.attempt).toBe(1);
    });
    await until('every bundle settled into history', async () => (await client.children(layout.historyDir('b-squares', 'succeeded'))).length === 3);
    for (const id of bundles) expect((await readBundle(client, 'b-squares', id)).bundle.state).toBe('done');
    expect(await client.children(layout.leases('b-squares'))).toEqual([]);
    expect(await client.children(layout.inflight('b-squares'))).toEqual([]);
    expect(new Set(claimed).size).toBe(claimed.length);
  });

  it('a failing run retries after its backoff with the bundle; the others keep their first result; the last attempt dead-letters', async () => {
    const client = await env.client();
    await publishJob(client, shaky.spec);
    const attempts: { runId: string; attempt: number; at: number }[] = [];
    const on = (a: { runId: string; attempt: number; at: number }) => attempts.push(a);
    bus.on('shaky', on);
    try {
      const ids = await enqueueWith(client, 'b-shaky', [
        { input: { failTimes: 0, n: 0 } },
        { input: { failTimes: 1, n: 1 } },
        { input: { failTimes: 5, n: 2 } },
        { input: { failTimes: 0, n: 3 } },
      ]);
      const bundleId = bundleOf(ids[0]!);
      await worker([shaky]);
      const recs = await Promise.all(ids.map((id) => waitForRun(client, 'b-shaky', id, finished)));
      expect(recs.map((r) => [r.state, r.attempt])).toEqual([
        ['succeeded', 1],
        ['succeeded', 2],
        ['dead', 2],
        ['succeeded', 1],
      ]);
      expect(recs[1]!.result).toBe('ok 1/2');
      expect(recs[2]!.error?.message).toBe('no 2/2');
      expect(await client.exists(layout.deadRun('b-shaky', ids[2]!))).not.toBeNull();
      // Runs 0 and 3 ran once: the retry took only the runs that failed.
      expect(attempts.filter((a) => a.runId === ids[0] || a.runId === ids[3]).map((a) => a.attempt)).toEqual([1, 1]);
      const first = attempts.find((a) => a.runId === ids[1] && a.attempt === 1)!;
      const second = attempts.find((a) => a.runId === ids[1] && a.attempt === 2)!;
      expect(second.at - first.at).toBeGreaterThanOrEqual(145);
      await until('the bundle in history', async () => (await client.children(layout.historyDir('b-shaky', 'succeeded'))).some((n) => n.endsWith(bundleId)));
      expect(await client.children(layout.delayed('b-shaky'))).toEqual([]);
    } finally {
      bus.off('shaky', on);
    }
  });

  it('cancel of one active bundled run aborts only it; a too-large result fails only its run', async () => {
    const client = await env.client();
    await publishJob(client, held.spec);
    const started = heldStarts();
    await worker([held]);
    const ids = await enqueueWith(client, 'b-held', ['c0', 'c1', 'c2'].map((label) => ({ input: { label, big: label === 'c2' } })));
    await until('all three started', () => started.size === 3);
    const aborted = nextEvent<{ label: string; code: string }>('the abort', (d) => bus.once('held-aborted', d));
    await client.create(layout.cancel('b-held', ids[1]!));
    expect(await aborted).toEqual({ label: 'c1', code: 'DROVER_CANCELLED' });
    bus.emit('release-c0');
    bus.emit('release-c2');
    const recs = await Promise.all(ids.map((id) => waitForRun(client, 'b-held', id, finished)));
    expect(recs.map((r) => r.state)).toEqual(['succeeded', 'cancelled', 'failed']);
    expect(recs[0]!.result).toBe('done c0');
    expect(recs[2]!.error?.code).toBe('DROVER_PAYLOAD_TOO_LARGE');
    // The cancel request went with the settle multi.
    await until('the bundle settled', async () => (await readBundle(client, 'b-held', bundleOf(ids[0]!))).bundle.state === 'done');
    expect(await client.children(layout.cancels('b-held'))).toEqual([]);
  });

  it('a bundle moved on under its worker (version bumped) fences every run in it: results discarded', async () => {
    const client = await env.client();
    await publishJob(client, held.spec);
    const started = heldStarts();
    await worker([held]);
    const ids = await enqueueWith(client, 'b-held', ['f0', 'f1'].map((label) => ({ input: { label } })));
    await until('both started', () => started.size === 2);
    const bundleId = bundleOf(ids[0]!);
    const { bundle, version } = await readBundle(client, 'b-held', bundleId);
    // Someone else (an operator, a recovery that thought the worker lost) rewrote the bundle.
    const theirs: BundleRecord = { ...bundle, runs: bundle.runs.map((r): RunRecord => ({ ...r, error: { code: 'TEST', message: 'moved on' } })) };
    await client.set(layout.run('b-held', bundleId), encodeBundle(theirs), version);
    const aborts: string[] = [];
    const onAbort = (e: { code: string }) => aborts.push(e.code);
    bus.on('held-aborted', onAbort);
    bus.emit('release-f0'); // its finish meets BAD_VERSION: fenced, and f1 is aborted with it
    await until('f1 aborted as fenced', () => aborts.includes('DROVER_FENCED'));
    bus.off('held-aborted', onAbort);
    const after = await readBundle(client, 'b-held', bundleId);
    expect(after.version).toBe(version + 1);
    expect(after.bundle.runs.map((r) => r.state)).toEqual(['active', 'active']);
    expect(after.bundle.runs.map((r) => r.error?.code)).toEqual(['TEST', 'TEST']);
  });

  it('bundles settling together share one multi; one fenced among them fails alone, the other lands', async () => {
    const client = await env.client();
    await publishJob(client, held.spec);
    const started = heldStarts();
    await worker([held]);
    // Two enqueues, two bundles of two runs each, all four running at once.
    const pair = async (a: string, b: string, c: string, d: string): Promise<[string, string]> => {
      const first = await enqueueWith(client, 'b-held', [a, b].map((label) => ({ input: { label } })));
      const second = await enqueueWith(client, 'b-held', [c, d].map((label) => ({ input: { label } })));
      await until('all four started', () => [a, b, c, d].every((l) => started.has(l)));
      return [bundleOf(first[0]!), bundleOf(second[0]!)];
    };
    const [x, y] = await pair('s0', 's1', 's2', 's3');
    for (const l of ['s0', 's1', 's2', 's3']) bus.emit(`release-${l}`);
    await until('both settled', async () => (await client.children(layout.historyDir('b-held', 'succeeded'))).length === 2);
    const [sx, sy] = await Promise.all([client.exists(layout.run('b-held', x)), client.exists(layout.run('b-held', y))]);
    expect(sx?.mzxid).toBeDefined();
    expect(sx?.mzxid).toBe(sy?.mzxid); // written by the same transaction

    const [fenced, other] = await pair('t0', 't1', 't2', 't3');
    const { bundle, version } = await readBundle(client, 'b-held', fenced);
    await client.set(layout.run('b-held', fenced), encodeBundle(bundle), version); // moved on under the worker
    for (const l of ['t0', 't1', 't2', 't3']) bus.emit(`release-${l}`);
    await until('the other bundle settled', async () => (await readBundle(client, 'b-held', other)).bundle.state === 'done');
    expect((await readBundle(client, 'b-held', other)).bundle.runs.map((r) => r.state)).toEqual(['succeeded', 'succeeded']);
    const after = await readBundle(client, 'b-held', fenced);
    expect(after.version).toBe(version + 1); // the settle met BAD_VERSION: nothing of it written
    expect(after.bundle.runs.map((r) => r.state)).toEqual(['active', 'active']);
    expect((await client.children(layout.historyDir('b-held', 'succeeded'))).length).toBe(3);
  });

  it('close hands back a bundle whose runs have not finished: queued again, no attempt counted', async () => {
    const client = await env.client();
    await publishJob(client, held.spec);
    const started = heldStarts();
    const w = await startWorker({ connect: env.backend().connectString, root: env.root(), jobs: [held as unknown as Job], schedule: false, sessionTimeoutMs: 4_000 });
    const ids = await enqueueWith(client, 'b-held', ['h0', 'h1'].map((label) => ({ input: { label } })));
    await until('both started', () => started.size === 2);
    bus.emit('release-h0');
    await waitForRun(client, 'b-held', ids[0]!, finished);
    await w.close({ graceMs: 50 });
    const { bundle } = await readBundle(client, 'b-held', bundleOf(ids[0]!));
    expect(bundle.state).toBe('queued');
    expect(bundle.runs.map((r) => [r.state, r.attempt, r.freeAttempts ?? 0])).toEqual([
      ['succeeded', 1, 0],
      ['queued', 1, 1],
    ]);
    expect(await client.children(layout.leases('b-held'))).toEqual([]);
    // Back in its lane: a new worker runs only h1.
    started.clear();
    await worker([held]);
    await until('h1 started again', () => started.has('h1'));
    expect([...started.keys()]).toEqual(['h1']);
    bus.emit('release-h1');
    expect((await waitForRun(client, 'b-held', ids[1]!, finished)).state).toBe('succeeded');
  });
});
