/**
 * Every example job runs and completes on both backends, in an in-process
 * worker (inline handlers, so the example modules' exports are observable):
 * the nightly report by hand, the image pipeline through a failing first
 * attempt, word count as map -> reduce behind a barrier, and the feed
 * consumer owning all 8 partitions and releasing them on close.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import type { Job } from '../../shared/jobs/define-job.ts';
import { enqueue } from '../../shared/jobs/enqueue.ts';
import { publishJob } from '../../shared/jobs/job-dirs.ts';
import { layout } from '../../shared/jobs/layout.ts';
import { nextFireTime, validateSchedule } from '../../worker/scheduler/cron-schedule.ts';
import { startWorker, type Worker } from '../../worker/runtime.ts';
import { enqueueEvents, eventScoring, scoreEvent, type ClickEvent, type EventScore } from '../../examples/event-scoring.ts';
import { feedConsumer, feedStats, FEED_PARTITIONS } from '../../examples/feed-consumer.ts';
import { imagePipeline } from '../../examples/image-pipeline.ts';
import { nightlyReport, type SalesReport } from '../../examples/nightly-report.ts';
import { countWords, enqueueWordCount, wordCountMap, wordCountReduce, type WordCountResult } from '../../examples/word-count.ts';
import { describeOnBackends, until, type BackendEnv } from '../helpers/backends.ts';
import { finished, waitForRun } from './jobs-waits.ts';

async function worker(env: BackendEnv, jobs: Job[]): Promise<Worker> {
  const w = await startWorker({ connect: env.backend().connectString, root: env.root(), jobs, schedule: false, sessionTimeoutMs: 4_000, inline: true });
  env.defer(() => w.close({ graceMs: 1000 }));
  return w;
}

describeOnBackends('examples', (env) => {
  it('nightly-report: a Berlin 02:30 cron with fire-once; a run by hand builds the report', async () => {
    const client = await env.client();
    expect(nightlyReport.spec).toMatchObject({ schedule: '30 2 * * *', timezone: 'Europe/Berlin', misfire: 'fire-once' });
    validateSchedule({ cron: '30 2 * * *', timezone: 'Europe/Berlin' });
    // 02:30 in Berlin is 01:30Z in winter.
    expect(new Date(nextFireTime({ cron: '30 2 * * *', timezone: 'Europe/Berlin' }, Date.UTC(2026, 0, 10, 12)) ?? 0).toISOString()).toBe('2026-01-11T01:30:00.000Z');
    await worker(env, [nightlyReport as Job]);
    const id = await enqueue(client, 'nightly-report', { day: '2026-03-08' });
    const rec = await waitForRun(client, 'nightly-report', id, finished);
    expect(rec.state).toBe('succeeded');
    const report = rec.result as SalesReport;
    expect(report.day).toBe('2026-03-08');
    expect(report.orders).toBeGreaterThanOrEqual(500);
    expect(Object.values(report.byRegion).reduce((a, b) => a + b, 0)).toBe(report.revenueCents);
    expect(rec.progress?.pct).toBe(100);
    await expect(enqueue(client, 'nightly-report', { day: 'yesterday' })).rejects.toMatchObject({ code: 'DROVER_INVALID_PAYLOAD' });
  });

  it('image-pipeline: a failing origin is retried with backoff, progress reaches 100', async () => {
    const client = await env.client();
    await worker(env, [imagePipeline as Job]);
    const id = await enqueue(client, 'image-pipeline', { url: 'https://example.com/cat.jpg', failFirst: 1, sizes: [64, 128] });
    const rec = await waitForRun(client, 'image-pipeline', id, finished);
    expect(rec.state).toBe('succeeded');
    expect(rec.attempt).toBe(2);
    expect((rec.result as { variants: unknown[] }).variants).toHaveLength(2);
    expect(rec.progress?.pct).toBe(100);
  });

  it('word-count: N maps start together behind the barrier, one reduce merges them', async () => {
    const client = await env.client();
    const dir = await mkdtemp(path.join(os.tmpdir(), 'wc-test-'));
    env.defer(() => rm(dir, { recursive: true, force: true }));
    await publishJob(client, wordCountMap.spec);
    await publishJob(client, wordCountReduce.spec);
    await worker(env, [wordCountMap as Job, wordCountReduce as Job]);
    const text = 'the quick brown fox jumps over the lazy dog and the dog sleeps while the fox runs '.repeat(20);
    const { group, maps } = await enqueueWordCount(client, text, { parts: 4, dir, top: 3 });
    const mapped = await Promise.all(maps.map((m) => waitForRun(client, 'word-count-map', m, finished)));
    expect(mapped.map((r) => r.state)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']);
    // The last map's finish enqueued the reduce in the same multi; the barrier names it.
    const reduceId = await until('the reduce run', async () => {
      const barrier = JSON.parse((await client.get(layout.runGroup('word-count-map', group))).data.toString()) as { followUp?: string };
      return barrier.followUp;
    });
    const reduced = await waitForRun(client, 'word-count-reduce', reduceId, finished);
    expect(reduced.state).toBe('succeeded');
    const result = reduced.result as WordCountResult;
    const expected = countWords(text);
    expect(result.words).toBe([...expected.values()].reduce((a, b) => a + b, 0));
    expect(result.distinct).toBe(expected.size);
    expect(result.top[0]).toEqual(['the', 80]);
    expect((await client.children(layout.runs('word-count-reduce'))).length).toBe(1);
  });

  it('event-scoring: 70 events in one enqueue go as bundles of 32; each run keeps its own score', async () => {
    const client = await env.client();
    await publishJob(client, eventScoring.spec);
    const events: ClickEvent[] = Array.from({ length: 70 }, (_, i) => ({
      user: `u${i % 9}`,
      path: i % 5 === 0 ? '/checkout' : `/p/${i}`,
      userAgent: i % 7 === 0 ? 'Mozilla/5.0 HeadlessChrome' : 'Mozilla/5.0 Firefox/130',
      gapMs: i % 4 === 0 ? 50 : 5_000,
      ...(i % 5 === 0 ? { cartCents: 10_000 * i } : {}),
    }));
    const ids = await enqueueEvents(client, events);
    // 32 + 32 bundled, the last 6 a bundle of their own: three records for 70 runs.
    expect(new Set(ids.map((id) => id.split('.')[0])).size).toBe(3);
    expect((await client.children(layout.runs('event-scoring'))).length).toBe(3);
    await worker(env, [eventScoring as Job]);
    const recs = await Promise.all(ids.map((id) => waitForRun(client, 'event-scoring', id, finished)));
    expect(recs.map((r) => r.state)).toEqual(ids.map(() => 'succeeded'));
    expect(recs.map((r) => r.result as EventScore)).toEqual(events.map(scoreEvent));
    expect(scoreEvent(events[0]!)).toEqual({ user: 'u0', bot: true, risk: 85 });
    await expect(enqueueEvents(client, [{ user: 'x' } as ClickEvent])).rejects.toMatchObject({ code: 'DROVER_INVALID_PAYLOAD' });
  });

  it('feed-consumer: one worker owns all 8 partitions and consumes; closing releases them', async () => {
    const client = await env.client();
    const before = feedStats.batches;
    const w = await worker(env, [feedConsumer as Job]);
    await until('all partitions owned', async () => (await client.children(layout.partitionOwners('feed-consumer'))).length === FEED_PARTITIONS);
    await until('batches consumed on every partition', () => feedStats.batches - before >= FEED_PARTITIONS * 2 && feedStats.partitionsSeen.size === FEED_PARTITIONS);
    await w.close({ graceMs: 2000 });
    expect(await client.children(layout.partitionOwners('feed-consumer'))).toEqual([]);
  });
});
