/**
 * The worker runtime on both backends, in-process (inline handlers):
 * retries with backoff then dead-letter, timeouts, cancel (queued and
 * active), pause/resume, progress and logs on the run node, barrier groups
 * and the map -> reduce follow-up.
 */
import { EventEmitter, once } from 'node:events';
import { expect, it } from 'vitest';
import { describeOnBackends, nextEvent, until } from '../helpers/backends.ts';
import type { Coordination } from '../../shared/client/coordination.ts';
import { defineJob, type Job } from '../../shared/jobs/define-job.ts';
import { enqueue, enqueueWith } from '../../shared/jobs/enqueue.ts';
import { publishJob } from '../../shared/jobs/job-dirs.ts';
import type { RunRecord } from '../../shared/jobs/job-types.ts';
import { layout } from '../../shared/jobs/layout.ts';
import { cancelRun, getRun, pauseJob, resumeJob, retryRun } from '../../shared/jobs/run-admin.ts';
import { startWorker, type Worker } from '../../worker/runtime.ts';
import { finished, waitForRun } from './jobs-waits.ts';

const bus = new EventEmitter();
bus.setMaxListeners(100);

const flaky = defineJob<{ failTimes: number }, string>({
  name: 'flaky',
  retries: 2,
  backoff: { type: 'exponential', delayMs: 100 },
  run: (ctx, input) => {
    bus.emit('flaky', { attempt: ctx.attempt, at: Date.now() });
    if (ctx.attempt <= input.failTimes) throw new Error(`boom ${ctx.attempt}`);
    return `ok after ${ctx.attempt}`;
  },
});

const slow = defineJob<null, string>({
  name: 'slow',
  timeoutMs: 300,
  run: (ctx) =>
    new Promise((_resolve, reject) => {
      bus.emit('slow-started', ctx.runId);
      ctx.signal.addEventListener('abort', () => {
        bus.emit('slow-aborted', (ctx.signal.reason as { code?: string })?.code);
        reject(ctx.signal.reason as Error);
      });
    }),
});

const waiter = defineJob<string, string>({
  name: 'waiter',
  concurrency: 4,
  run: (ctx, label) =>
    new Promise((resolve, reject) => {
      bus.emit('waiter-started', { label, runId: ctx.runId });
      ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error));
      bus.once(`release-${label}`, () => resolve(label));
    }),
});

const reporter = defineJob<null, string>({
  name: 'reporter',
  run: async (ctx) => {
    ctx.log.info('starting the report');
    for (const pct of [10, 40, 70]) ctx.progress(pct, `step ${pct}`);
    bus.emit('reporter-mid', ctx.runId);
    await once(bus, 'reporter-go');
    ctx.progress(100, 'done');
    ctx.log.warn('finished with a warning');
    return 'report';
  },
});

const mapper = defineJob<number, number>({
  name: 'mapper',
  concurrency: 5,
  run: (ctx, n) => {
    bus.emit('mapper-started', { n, runId: ctx.runId });
    return n * n;
  },
});

let reduces = 0;
const reducer = defineJob<{ group: string }, number>({
  name: 'reducer',
  run: (ctx, input) => {
    reduces++;
    bus.emit('reducer', { runId: ctx.runId, input });
    return reduces;
  },
});

let strictNow = false;
const strict = defineJob<{ bad?: boolean }, string>({
  name: 'strict',
  retries: 3,
  validate: (input) => {
    if (strictNow && (input as { bad?: boolean })?.bad) throw new Error('bad input');
    return input as { bad?: boolean };
  },
  run: () => 'ran',
});

describeOnBackends('worker: runs', (env) => {
  async function worker(jobs: Job[], extra: { concurrency?: number } = {}): Promise<Worker> {
    const w = await startWorker({ connect: env.backend().connectString, root: env.root(), jobs: jobs as Job<never, unknown>[] as Job[], schedule: false, sessionTimeoutMs: 4_000, ...extra });
    env.defer(() => w.close({ graceMs: 500 }));
    return w;
  }

  it('retries with exponential backoff, then dead-letters after the last attempt; retryRun brings it back', async () => {
    const client = await env.client();
    await worker([flaky]);
    const attempts: { attempt: number; at: number }[] = [];
    const onAttempt = (a: { attempt: number; at: number }) => attempts.push(a);
    bus.on('flaky', onAttempt);
    try {
      const ok = await flaky.enqueue(client, { failTimes: 1 });
      const rec = await waitForRun(client, 'flaky', ok, finished);
      expect(rec.state).toBe('succeeded');
      expect(rec.result).toBe('ok after 2');
      attempts.length = 0;

      const bad = await flaky.enqueue(client, { failTimes: 99 });
      const dead = await waitForRun(client, 'flaky', bad, finished);
      expect(dead.state).toBe('dead');
      expect(dead.attempt).toBe(3);
      expect(dead.error?.message).toBe('boom 3');
      expect(await client.exists(layout.deadRun('flaky', bad))).not.toBeNull();
      expect(attempts.map((a) => a.attempt)).toEqual([1, 2, 3]);
      // Backoff 100 ms then 200 ms: the gaps are at least that (never less; more is load).
      expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(95);
      expect(attempts[2]!.at - attempts[1]!.at).toBeGreaterThanOrEqual(195);

      await retryRun(client, 'flaky', bad);
      expect(await client.exists(layout.deadRun('flaky', bad))).toBeNull();
      const again = await waitForRun(client, 'flaky', bad, (r) => finished(r) && r.attempt > 3);
      expect(again.state).toBe('dead');
      expect(again.attempt).toBe(6);
    } finally {
      bus.off('flaky', onAttempt);
    }
  });

  it('a timeout aborts ctx.signal with DROVER_TIMEOUT and fails the attempt', async () => {
    const client = await env.client();
    await worker([slow]);
    const aborted = nextEvent<string>('the abort', (d) => bus.once('slow-aborted', d));
    const runId = await slow.enqueue(client, null);
    expect(await aborted).toBe('DROVER_TIMEOUT');
    const rec = await waitForRun(client, 'slow', runId, finished);
    expect(rec.state).toBe('dead'); // retries: 0
    expect(rec.error?.code).toBe('DROVER_TIMEOUT');
  });

  it('cancels a queued run (it never starts) and an active one (its signal aborts)', async () => {
    const client = await env.client();
    await publishJob(client, waiter.spec);
    await pauseJob(client, 'waiter');
    const queued = await waiter.enqueue(client, 'q');
    await worker([waiter]);
    expect(await cancelRun(client, 'waiter', queued)).toBe('cancelled');
    const started: string[] = [];
    bus.on('waiter-started', (e: { label: string }) => started.push(e.label));
    await resumeJob(client, 'waiter');
    const activeStarted = nextEvent<{ runId: string }>('active start', (d) => bus.once('waiter-started', d));
    const active = await waiter.enqueue(client, 'a');
    await activeStarted;
    expect(await cancelRun(client, 'waiter', active)).toBe('cancel-requested');
    const rec = await waitForRun(client, 'waiter', active, finished);
    expect(rec.state).toBe('cancelled');
    expect(rec.error?.code).toBe('DROVER_CANCELLED');
    expect((await getRun(client, 'waiter', queued)).state).toBe('cancelled');
    expect(started).toEqual(['a']);
    expect(await client.children(layout.cancels('waiter'))).toEqual([]); // deleted in the finish multi
    bus.removeAllListeners('waiter-started');
  });

  it('pause stops claims (with a free slot and work waiting); resume claims again', async () => {
    const client = await env.client();
    const w = await worker([waiter], { concurrency: 1 });
    const firstStarted = nextEvent<{ label: string }>('first start', (d) => bus.once('waiter-started', d));
    const first = await waiter.enqueue(client, 'p1');
    await firstStarted;
    await pauseJob(client, 'waiter');
    const second = await waiter.enqueue(client, 'p2');
    // The worker must have seen the pause before the slot frees: its paused watch fires on
    // the create, so wait until a waiting(paused) report after the slot is free.
    const pausedWait = nextEvent<void>('a paused wait with a free slot', (d) =>
      w.onEvent((e) => e.type === 'waiting' && e.reason === 'paused' && w.activeRuns().length === 0 && d()),
    );
    bus.emit('release-p1');
    expect((await waitForRun(client, 'waiter', first, finished)).state).toBe('succeeded');
    await pausedWait;
    expect((await getRun(client, 'waiter', second)).state).toBe('queued');
    const started = nextEvent<{ label: string }>('start after resume', (d) => bus.once('waiter-started', d));
    await resumeJob(client, 'waiter');
    expect((await started).label).toBe('p2');
    bus.emit('release-p2');
    expect((await waitForRun(client, 'waiter', second, finished)).state).toBe('succeeded');
  });

  it('progress and log lines are visible on the run node while it runs', async () => {
    const client = await env.client();
    await worker([reporter]);
    const mid = nextEvent<string>('reporter mid-run', (d) => bus.once('reporter-mid', d));
    const runId = await reporter.enqueue(client, null);
    await mid;
    const live = await waitForRun(client, 'reporter', runId, (r) => r.progress?.pct === 70);
    expect(live.state).toBe('active');
    expect(live.progress?.message).toBe('step 70');
    expect(live.logs?.map((l) => l.msg)).toContain('starting the report');
    bus.emit('reporter-go');
    const done = await waitForRun(client, 'reporter', runId, finished);
    expect(done.progress?.pct).toBe(100);
    expect(done.logs?.map((l) => `${l.level}:${l.msg}`)).toEqual(['info:starting the report', 'warn:finished with a warning']);
  });

  it('a barrier group starts only when all N members have arrived, and its follow-up runs exactly once', async () => {
    const client = await env.client();
    await publishJob(client, mapper.spec);
    await publishJob(client, reducer.spec);
    await worker([mapper, reducer], { concurrency: 6 });
    const started: number[] = [];
    const onStart = (e: { n: number }) => started.push(e.n);
    bus.on('mapper-started', onStart);
    reduces = 0;
    try {
      const group = { id: 'g1', size: 4, then: { job: 'reducer', input: { group: 'g1' } } };
      const first = await enqueueWith(client, 'mapper', [1, 2, 3].map((n) => ({ input: n, opts: { group } })));
      const waiting = await Promise.all(first.map((id) => getRun(client, 'mapper', id)));
      expect(waiting.map((r) => r.state)).toEqual(['waiting-barrier', 'waiting-barrier', 'waiting-barrier']);
      // Nothing is on the queue, so nothing can start, whatever the worker does meanwhile.
      expect(await client.exists(layout.lane('mapper', 5))).toBeNull();
      expect(started).toEqual([]);
      const reduced = nextEvent<{ runId: string; input: unknown }>('the follow-up', (d) => bus.once('reducer', d));
      const last = await enqueue(client, 'mapper', 4, { group });
      const recs = await Promise.all([...first, last].map((id) => waitForRun(client, 'mapper', id, finished)));
      expect(recs.map((r) => r.result)).toEqual([1, 4, 9, 16]);
      const follow = await reduced;
      expect(follow.input).toEqual({ group: 'g1' });
      const followRec = await waitForRun(client, 'reducer', follow.runId, finished);
      expect(followRec.state).toBe('succeeded');
      expect(reduces).toBe(1);
      const barrier = JSON.parse((await client.get(layout.runGroup('mapper', 'g1'))).data.toString()) as { left: number; followUp: string };
      expect(barrier.left).toBe(4);
      expect(barrier.followUp).toBe(follow.runId);
      // A fifth member is refused and writes nothing.
      await expect(enqueue(client, 'mapper', 5, { group })).rejects.toMatchObject({ code: 'DROVER_RUN_STATE' });
      expect((await client.children(layout.runs('reducer'))).length).toBe(1);
    } finally {
      bus.off('mapper-started', onStart);
    }
  });

  it('members racing to arrive from many clients release the group exactly once', async () => {
    const clients: Coordination[] = await Promise.all(Array.from({ length: 4 }, () => env.client()));
    await publishJob(clients[0]!, mapper.spec);
    const group = { id: 'race', size: 8 };
    const ids = (await Promise.all(clients.map((c, i) => enqueueWith(c, 'mapper', [0, 1].map((j) => ({ input: i * 2 + j, opts: { group } })))))).flat();
    // The release may have been written through another member: wait until this one has it.
    const tail = await until('the release on this member', () => clients[0]!.exists(layout.laneTail('mapper', 5)));
    expect(tail.version).toBe(0); // one release: the lane was made with all 8 in one multi
    const depth = Number((await clients[0]!.get(layout.laneTail('mapper', 5))).data.toString());
    expect(depth).toBe(8);
    const items = await clients[0]!.children(layout.laneItems('mapper', 5));
    const queued = await Promise.all(items.map(async (i) => (await clients[0]!.get(`${layout.laneItems('mapper', 5)}/${i}`)).data.toString()));
    expect(queued.sort()).toEqual([...ids].sort());
    const records: RunRecord[] = await Promise.all(ids.map((id) => getRun(clients[0]!, 'mapper', id)));
    expect(records.every((r) => r.group?.id === 'race')).toBe(true);
  });

  it('re-validates at claim: an input the definition now rejects fails permanently, without retries', async () => {
    const client = await env.client();
    strictNow = false;
    const runId = await strict.enqueue(client, { bad: true });
    strictNow = true;
    try {
      await worker([strict]);
      const rec = await waitForRun(client, 'strict', runId, finished);
      expect(rec.state).toBe('failed');
      expect(rec.attempt).toBe(1);
      expect(rec.error?.code).toBe('DROVER_INVALID_PAYLOAD');
      expect(await client.children(layout.delayed('strict'))).toEqual([]);
    } finally {
      strictNow = false;
    }
  });
});
