/**
 * The scheduler's recovery duties on both backends: orphan re-queue with
 * stall accounting (and racing callers acting once), delayed promotion, and
 * history pruning by count and age.
 */
import { inflightNameOf } from '../helpers/claim-lease.ts';
import { pino } from 'pino';
import { expect, it } from 'vitest';
import { describeOnBackends, until } from '../helpers/backends.ts';
import type { Coordination } from '../../shared/client/coordination.ts';
import { defineJob } from '../../shared/jobs/define-job.ts';
import { enqueue, enqueueWith } from '../../shared/jobs/enqueue.ts';
import { publishJob } from '../../shared/jobs/job-dirs.ts';
import { layout } from '../../shared/jobs/layout.ts';
import { promoteDue, pruneHistory, requeueOrphans } from '../../shared/jobs/recovery.ts';
import { getRun } from '../../shared/jobs/run-admin.ts';
import { Claimer } from '../../worker/runs/claim.ts';
import { FinishBatcher } from '../../worker/runs/finish.ts';
import { waitForRun } from './jobs-waits.ts';

const silent = pino({ enabled: false });
const fragile = defineJob({ name: 'fragile', retries: 0, maxStalls: 1, run: () => null });
const later = defineJob({ name: 'later', run: () => null });
const kept = defineJob({ name: 'kept', history: { keep: 2, maxAgeMs: 60_000 }, run: () => null });

describeOnBackends('jobs: recovery duties', (env) => {
  /** Claims one run on a session of its own, then ends that session: an orphan, as after kill -9. */
  async function orphanOne(observer: Coordination, job: string): Promise<string> {
    const doomed = await env.client();
    const [claimed] = await new Claimer({ client: doomed, job, workerId: () => 'w-doomed', logger: silent, isCancelRequested: () => false }).claim(1);
    expect(claimed).toBeDefined();
    await doomed.close();
    await orphanVisible(observer, job, [claimed!.runId]);
    return claimed!.runId;
  }

  /** The observer's member may lag the one the claim went through: wait until it shows the orphans. */
  async function orphanVisible(observer: Coordination, job: string, runIds: string[]): Promise<void> {
    await until('the orphans on this member', async () => {
      for (const runId of runIds) {
        const name = await inflightNameOf(observer, job, runId);
        if (name === null || (await observer.exists(layout.lease(job, name)))) return false;
      }
      return true;
    });
  }

  async function tail(client: Coordination, job: string, priority = 5): Promise<number> {
    return Number((await client.get(layout.laneTail(job, priority))).data.toString());
  }

  it('re-queues orphans as stalls, then (past maxStalls, no attempts left) dead-letters them with DROVER_WORKER_LOST', async () => {
    const client = await env.client();
    await publishJob(client, fragile.spec);
    const runId = await enqueue(client, 'fragile', null);
    expect(await orphanOne(client, 'fragile')).toBe(runId);
    expect(await requeueOrphans(client, 'fragile')).toEqual({ requeued: [runId], dead: [] });
    const once = await getRun(client, 'fragile', runId);
    expect(once).toMatchObject({ state: 'queued', attempt: 1, stalls: 1, freeAttempts: 1, error: { code: 'DROVER_WORKER_LOST' } });
    expect(await orphanOne(client, 'fragile')).toBe(runId);
    expect(await requeueOrphans(client, 'fragile')).toEqual({ requeued: [], dead: [runId] });
    const dead = await getRun(client, 'fragile', runId);
    expect(dead).toMatchObject({ state: 'dead', attempt: 2, stalls: 2, freeAttempts: 1, error: { code: 'DROVER_WORKER_LOST' } });
    // Both lost attempts are in its history: the first a free stall, the second counted.
    expect(dead.attempts).toMatchObject([
      { attempt: 1, outcome: 'lost', free: true, worker: 'w-doomed', error: { code: 'DROVER_WORKER_LOST' } },
      { attempt: 2, outcome: 'lost', worker: 'w-doomed', error: { code: 'DROVER_WORKER_LOST' } },
    ]);
    expect(dead.attempts?.[1]?.free).toBeUndefined();
    expect(await client.exists(layout.deadRun('fragile', runId))).not.toBeNull();
    expect(await client.children(layout.inflight('fragile'))).toEqual([]);
    // Nothing left to do: a second pass changes nothing.
    expect(await requeueOrphans(client, 'fragile')).toEqual({ requeued: [], dead: [] });
  });

  it('two callers racing over the same orphans re-queue each exactly once', async () => {
    const [a, b] = await Promise.all([env.client(), env.client()]);
    await publishJob(a!, fragile.spec);
    await enqueueWith(a!, 'fragile', [{ input: 1 }, { input: 2 }, { input: 3 }]);
    const doomed = await env.client();
    const claimer = new Claimer({ client: doomed, job: 'fragile', workerId: () => 'w-doomed', logger: silent, isCancelRequested: () => false });
    const taken = await claimer.claim(3);
    expect(taken).toHaveLength(3);
    await doomed.close();
    await orphanVisible(a!, 'fragile', taken.map((t) => t.runId));
    await orphanVisible(b!, 'fragile', taken.map((t) => t.runId));
    const before = await tail(a!, 'fragile');
    const [ra, rb] = await Promise.all([requeueOrphans(a!, 'fragile'), requeueOrphans(b!, 'fragile')]);
    expect([...ra.requeued, ...rb.requeued].sort()).toHaveLength(3);
    expect(new Set([...ra.requeued, ...rb.requeued]).size).toBe(3);
    for (const t of taken) await waitForRun(a!, 'fragile', t.runId, (r) => r.state === 'queued');
    expect(await tail(a!, 'fragile')).toBe(before + 3);
  });

  it('a live lease is not an orphan', async () => {
    const client = await env.client();
    await publishJob(client, fragile.spec);
    const runId = await enqueue(client, 'fragile', null);
    const holder = await env.client();
    await new Claimer({ client: holder, job: 'fragile', workerId: () => 'w-live', logger: silent, isCancelRequested: () => false }).claim(1);
    await waitForRun(client, 'fragile', runId, (r) => r.state === 'active');
    expect(await requeueOrphans(client, 'fragile')).toEqual({ requeued: [], dead: [] });
    expect((await getRun(client, 'fragile', runId)).state).toBe('active');
  });

  it('promotes delayed runs when due, once, even with two promoters', async () => {
    const [a, b] = await Promise.all([env.client(), env.client()]);
    await publishJob(a!, later.spec);
    const runId = await enqueue(a!, 'later', 'x', { delayMs: 5_000 });
    const rec = await getRun(a!, 'later', runId);
    expect(rec.state).toBe('delayed');
    expect(await a!.children(layout.delayed('later'))).toEqual([`d-${String(rec.dueAt).padStart(13, '0')}-${runId}`]);
    expect(await promoteDue(a!, 'later', Date.now())).toBe(0);
    const due = rec.dueAt! + 1;
    const [pa, pb] = await Promise.all([promoteDue(a!, 'later', due), promoteDue(b!, 'later', due)]);
    expect(pa + pb).toBe(1);
    await waitForRun(a!, 'later', runId, (r) => r.state === 'queued');
    expect(await a!.children(layout.delayed('later'))).toEqual([]);
    expect(await tail(a!, 'later')).toBe(1);
  });

  it('prunes history beyond keep and older than maxAgeMs, with the run records', async () => {
    const client = await env.client();
    await publishJob(client, kept.spec);
    const ids = await enqueueWith(client, 'kept', Array.from({ length: 5 }, (_, i) => ({ input: i })));
    const claimed = await new Claimer({ client, job: 'kept', workerId: () => 'w-x', logger: silent, isCancelRequested: () => false }).claim(5);
    const finisher = new FinishBatcher(client, silent);
    const t0 = Date.now();
    const results = await Promise.all(
      claimed.map((c, i) => finisher.finish({ job: 'kept', runId: c.runId, version: c.version, group: c.group!, kind: 'succeeded', record: { ...c.record, state: 'succeeded', finishedAt: t0 + i } })),
    );
    expect(results.every((r) => r.ok)).toBe(true);
    expect(await client.children(layout.historyDir('kept', 'succeeded'))).toHaveLength(5);
    expect(await pruneHistory(client, 'kept', kept.spec, t0 + 10)).toBe(3);
    expect((await client.children(layout.runs('kept'))).sort()).toEqual(ids.slice(3).sort());
    expect(await pruneHistory(client, 'kept', kept.spec, t0 + 10)).toBe(0);
    // A cancel request that arrived after its run ended is garbage: pruning drops it.
    await client.create(layout.cancel('kept', ids[4]!));
    expect(await pruneHistory(client, 'kept', kept.spec, t0 + 60_000 + 4)).toBe(1);
    expect(await client.children(layout.runs('kept'))).toEqual([ids[4]]);
    expect(await client.children(layout.cancels('kept'))).toEqual([]);
    // A finished barrier group goes once it is as old as the history kept; an open one stays.
    const done = { v: 1, size: 1, arrived: [{ runId: 'x', priority: 5 }], released: true, left: 1 };
    await client.create(layout.runGroup('kept', 'g-done'), Buffer.from(JSON.stringify(done)));
    await client.create(layout.runGroup('kept', 'g-open'), Buffer.from(JSON.stringify({ ...done, left: 0 })));
    await pruneHistory(client, 'kept', kept.spec, Date.now());
    expect((await client.children(layout.barriers)).sort()).toEqual(['kept-g-done', 'kept-g-open']);
    await pruneHistory(client, 'kept', kept.spec, Date.now() + 120_000);
    expect(await client.children(layout.barriers)).toEqual(['kept-g-open']);
  });
});
