/**
 * Operator actions on bundled runs (docs/adr/0006-run-bundles.md), on both
 * backends and without workers: ids and their order, getRun and listRuns
 * through bundles, cancel (one run, then every run: the bundle is done),
 * retry (a done bundle goes back to its lane), the refusals while a worker
 * holds the bundle, and unknown bundled ids. States a worker would write
 * (active, delayed, dead) are written here by hand, at the record's version.
 */
import { expect, it } from 'vitest';
import { droverCodeOf } from '../helpers/error-code.ts';
import { describeOnBackends } from '../helpers/backends.ts';
import type { Coordination } from '../../shared/client/coordination.ts';
import { defineJob } from '../../shared/jobs/define-job.ts';
import { enqueueWith } from '../../shared/jobs/enqueue.ts';
import { publishJob } from '../../shared/jobs/job-dirs.ts';
import type { BundleRecord, RunRecord } from '../../shared/jobs/job-types.ts';
import { layout, pad } from '../../shared/jobs/layout.ts';
import { jobCounts } from '../../shared/jobs/job-counts.ts';
import { cancelRun, getRun, listRuns, queueDepth, retryRun } from '../../shared/jobs/run-admin.ts';
import { listRunPage } from '../../shared/jobs/run-pages.ts';
import { decodeStored, encodeBundle } from '../../shared/jobs/run-codec.ts';
import { splitBundledRunId } from '../../shared/jobs/run-id.ts';
import { runIn } from '../../shared/jobs/run-lookup.ts';

const JOB = 'bundled-admin';
const job = defineJob<number, number>({ name: JOB, bundle: 8, run: (_ctx, n) => n });

const solo = defineJob<number, number>({ name: 'solo-admin', run: (_ctx, n) => n });

const BUNDLED = /^(b-[0-9a-z]{9}-[0-9a-z]{8})\.(\d+)$/;

async function readBundle(client: Coordination, bundleId: string): Promise<{ bundle: BundleRecord; version: number }> {
  const { data, stat } = await client.get(layout.run(JOB, bundleId));
  const stored = decodeStored(data, bundleId);
  if (stored.kind !== 'bundle') throw new Error(`${bundleId} is not a bundle`);
  return { bundle: stored.bundle, version: stat.version };
}

/** Writes the bundle as a worker or recovery would: at the version read. */
async function rewrite(client: Coordination, bundleId: string, change: (b: BundleRecord) => BundleRecord): Promise<number> {
  const { bundle, version } = await readBundle(client, bundleId);
  return (await client.set(layout.run(JOB, bundleId), encodeBundle(change(bundle)), version)).version;
}


describeOnBackends('jobs: bundled runs, operator actions', (env) => {
  async function setup(n = 8): Promise<{ client: Coordination; ids: string[]; bundleId: string }> {
    const client = await env.client();
    await publishJob(client, job.spec);
    const ids = await enqueueWith(client, JOB, Array.from({ length: n }, (_, i) => ({ input: i })));
    const bundleId = BUNDLED.exec(ids[0]!)?.[1];
    if (!bundleId) throw new Error(`not a bundled id: ${ids[0]}`);
    return { client, ids, bundleId };
  }

  it('packs one enqueue into bundles with ordered ids; getRun and listRuns see each run', async () => {
    const { client, ids } = await setup(17);
    // 8 + 8 bundled, and the leftover as a run of its own.
    const bundles = [...new Set(ids.slice(0, 16).map((id) => BUNDLED.exec(id)?.[1]))];
    expect(bundles).toHaveLength(2);
    expect(ids.slice(0, 16).map((id) => splitBundledRunId(id)?.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7]);
    expect(ids[16]).toMatch(/^r-/);
    expect((await client.children(layout.runs(JOB))).sort()).toEqual([...(bundles as string[]), ids[16]].sort());

    const records = await Promise.all(ids.map((id) => getRun(client, JOB, id)));
    expect(records.map((r) => r.id)).toEqual(ids);
    expect(records.map((r) => r.input)).toEqual(ids.map((_, i) => i));
    for (const r of records) expect(r).toMatchObject({ v: 1, job: JOB, state: 'queued', attempt: 0, priority: 5 });

    // A bundle is one lane item; the listings give runs.
    expect((await queueDepth(client, JOB)).total).toBe(3);
    expect((await listRuns(client, JOB, { which: 'queued' })).map((r) => r.id)).toEqual(ids);
    expect((await listRuns(client, JOB, { which: 'queued', limit: 10 })).map((r) => r.id)).toEqual(ids.slice(0, 10));
    expect(new Set((await listRuns(client, JOB)).map((r) => r.id))).toEqual(new Set(ids));
    expect(await listRuns(client, JOB, { state: 'cancelled' })).toEqual([]);

    // `drover enqueue --wait` picks the run out of its bundle's bytes.
    const { data } = await client.get(layout.run(JOB, bundles[0] as string));
    expect(runIn(data, 'p', ids[3]!).input).toBe(3);
    expect(() => runIn(data, 'p', `${bundles[0]}.9`)).toThrow(/does not hold/);
  });

  it('packs only plain runs, per priority and within the input bytes; the others keep records of their own', async () => {
    const client = await env.client();
    await publishJob(client, job.spec);
    const big = 'x'.repeat(60 * 1024); // two fit a bundle's 128 KiB of input, three do not
    const ids = await enqueueWith(client, JOB, [
      { input: 0 },
      { input: 1 },
      { input: 2, opts: { priority: 1 } }, // another lane: closes the first bundle
      { input: 3, opts: { priority: 1 } },
      { input: 4, opts: { delayMs: 60_000 } }, // not plain: a run of its own
      { input: 5, opts: { runId: 'chosen-5' } },
      { input: big.length },
      { input: big.length + 1 },
      { input: big.length + 2 },
    ].map((item, i) => (i >= 6 ? { input: `${big}${i}` } : item)));
    const bundleOfId = (id: string) => splitBundledRunId(id)?.bundleId ?? null;
    const [b0, b1, b2, b3, r4, r5, b6, b7, r8] = ids.map(bundleOfId);
    expect(b0).not.toBeNull();
    expect(b1).toBe(b0);
    expect(b2).not.toBeNull();
    expect(b3).toBe(b2);
    expect(b2).not.toBe(b0);
    expect([r4, r5]).toEqual([null, null]);
    expect(ids[5]).toBe('chosen-5');
    expect(b6).not.toBeNull();
    expect(b7).toBe(b6);
    expect(r8).toBeNull(); // the third big input would overflow the bundle; alone, it is just a run
    expect((await readBundle(client, b2!)).bundle.priority).toBe(1);
    expect((await getRun(client, JOB, ids[4]!)).state).toBe('delayed');
    // An explicit runId may not take a bundle's shape.
    expect(await droverCodeOf(enqueueWith(client, JOB, [{ input: 9, opts: { runId: `${b0}.3` } }]))).toBe('DROVER_INVALID_ARGUMENT');
  });

  it('cancels one queued bundled run in the record, leaving the others and the lane item', async () => {
    const { client, ids, bundleId } = await setup();
    const before = await readBundle(client, bundleId);
    expect(await cancelRun(client, JOB, ids[3]!)).toBe('cancelled');
    const after = await readBundle(client, bundleId);
    expect(after.version).toBe(before.version + 1);
    expect(after.bundle.state).toBe('queued');
    expect(after.bundle.runs[3]).toMatchObject({ state: 'cancelled', error: { code: 'DROVER_CANCELLED' } });
    expect(after.bundle.runs[3]?.finishedAt).toBeTypeOf('number');
    after.bundle.runs.forEach((r, i) => {
      if (i !== 3) expect(r).toEqual(before.bundle.runs[i]);
    });
    expect(await client.children(layout.historyDir(JOB, 'cancelled'))).toEqual([]);
    expect((await queueDepth(client, JOB)).total).toBe(1);
    expect((await listRuns(client, JOB, { state: 'cancelled' })).map((r) => r.id)).toEqual([ids[3]]);
    expect(await droverCodeOf(cancelRun(client, JOB, ids[3]!))).toBe('DROVER_RUN_STATE');
  });

  it('cancelling every run makes the bundle done with one history entry, in cancelled/; retry brings it back to its lane', async () => {
    const { client, ids, bundleId } = await setup();
    for (const id of ids) expect(await cancelRun(client, JOB, id)).toBe('cancelled');
    const done = (await readBundle(client, bundleId)).bundle;
    expect(done.state).toBe('done');
    expect(done.runs.every((r) => r.state === 'cancelled')).toBe(true);
    expect(await client.children(layout.historyDir(JOB, 'cancelled'))).toEqual([`h-${pad(done.finishedAt!, 13)}-${bundleId}`]);
    expect(await client.children(layout.historyDir(JOB, 'succeeded'))).toEqual([]);
    expect(await jobCounts(client, JOB)).toMatchObject({ cancelled: 1, succeeded: 0, failed: 0, finished: 1 });
    expect((await listRuns(client, JOB, { which: 'history' })).map((r) => r.id)).toEqual(ids);

    const depth = (await queueDepth(client, JOB)).total;
    await retryRun(client, JOB, ids[5]!);
    const back = (await readBundle(client, bundleId)).bundle;
    expect(back.state).toBe('queued');
    expect(back.finishedAt).toBeUndefined();
    expect(back.runs[5]).toMatchObject({ state: 'queued', freeAttempts: 0 });
    expect(back.runs[5]?.finishedAt).toBeUndefined();
    expect(back.runs[5]?.error).toBeUndefined();
    expect(back.runs.filter((r) => r.state === 'cancelled')).toHaveLength(7);
    expect(await client.children(layout.historyDir(JOB, 'cancelled'))).toEqual([]);
    expect((await queueDepth(client, JOB)).total).toBe(depth + 1);
    // The new lane item names the bundle.
    const items = (await client.children(layout.laneItems(JOB, 5))).sort();
    expect((await client.get(`${layout.laneItems(JOB, 5)}/${items[items.length - 1]}`)).data.toString()).toBe(bundleId);
    // A second retry of the same run: it is queued now.
    expect(await droverCodeOf(retryRun(client, JOB, ids[5]!))).toBe('DROVER_RUN_STATE');
  });

  it('refuses to retry while a worker holds the bundle, and sends cancels there as requests', async () => {
    const { client, ids, bundleId } = await setup();
    const now = Date.now();
    const held = await rewrite(client, bundleId, (b) => ({
      ...b,
      state: 'active',
      worker: 'w-0000000001',
      startedAt: now,
      runs: b.runs.map((r, i): RunRecord => (i === 0 ? { ...r, state: 'failed', attempt: 1, finishedAt: now, error: { code: 'DROVER_HANDLER_FAILED', message: 'boom' } } : i === 2 ? r : { ...r, state: 'active', attempt: 1 })),
    }));
    expect(await droverCodeOf(retryRun(client, JOB, ids[0]!))).toBe('DROVER_RUN_STATE');
    // An active run, and a queued one waiting in the held bundle: requests, no record write.
    expect(await cancelRun(client, JOB, ids[1]!)).toBe('cancel-requested');
    expect(await cancelRun(client, JOB, ids[2]!)).toBe('cancel-requested');
    expect((await client.children(layout.cancels(JOB))).sort()).toEqual([ids[1], ids[2]].sort());
    expect((await readBundle(client, bundleId)).version).toBe(held);
    expect(await droverCodeOf(cancelRun(client, JOB, ids[0]!))).toBe('DROVER_RUN_STATE');
  });

  it('cancelling the last waiting run of a delayed bundle drops its delayed entry; a dead run retried leaves dead/', async () => {
    const { client, ids, bundleId } = await setup();
    const now = Date.now();
    const dueAt = now + 60_000;
    await rewrite(client, bundleId, (b) => ({
      ...b,
      state: 'delayed',
      dueAt,
      runs: b.runs.map((r, i): RunRecord => (i === 0 ? { ...r, state: 'delayed', attempt: 1, dueAt } : i === 1 ? { ...r, state: 'dead', attempt: 1, finishedAt: now } : { ...r, state: 'succeeded', attempt: 1, finishedAt: now, result: i })),
    }));
    await client.ensurePath(layout.delayed(JOB));
    await client.create(layout.delayedRun(JOB, dueAt, bundleId));
    await client.ensurePath(layout.dead(JOB));
    await client.create(layout.deadRun(JOB, ids[1]!));

    expect((await listRuns(client, JOB, { which: 'delayed' })).map((r) => r.state)).toEqual(['delayed', 'dead', ...Array(6).fill('succeeded')]);
    expect((await listRuns(client, JOB, { which: 'dead' })).map((r) => r.id)).toEqual([ids[1]]);
    expect(await cancelRun(client, JOB, ids[0]!)).toBe('cancelled');
    const done = (await readBundle(client, bundleId)).bundle;
    expect(done.state).toBe('done');
    expect(done.dueAt).toBeUndefined();
    expect(await client.children(layout.delayed(JOB))).toEqual([]);
    // One entry per final state among its runs (one cancelled, one dead, six succeeded): cancelled and succeeded, same name.
    const entry = `h-${pad(done.finishedAt!, 13)}-${bundleId}`;
    expect(await client.children(layout.historyDir(JOB, 'cancelled'))).toEqual([entry]);
    expect(await client.children(layout.historyDir(JOB, 'succeeded'))).toEqual([entry]);
    expect(await client.children(layout.historyDir(JOB, 'failed'))).toEqual([]);
    expect(await jobCounts(client, JOB)).toMatchObject({ succeeded: 1, failed: 0, cancelled: 1, dead: 1, finished: 2 });
    // Each state's page lists the bundle's runs in that state, from that state's directory.
    expect((await listRunPage(client, JOB, { state: 'cancelled' })).runs.map((r) => r.id)).toEqual([ids[0]]);
    expect((await listRunPage(client, JOB, { state: 'succeeded' })).runs.map((r) => r.id)).toEqual(ids.slice(2));
    // All finished: its dead run first (the dead section), then its runs in history.
    expect((await listRunPage(client, JOB, { state: 'finished' })).runs.map((r) => r.id)).toEqual([ids[1], ids[0], ...ids.slice(2)]);

    await retryRun(client, JOB, ids[1]!);
    expect(await client.children(layout.dead(JOB))).toEqual([]);
    // Back in its lane: out of history, from every state's directory.
    for (const s of ['succeeded', 'failed', 'cancelled'] as const) expect(await client.children(layout.historyDir(JOB, s))).toEqual([]);
    const back = (await readBundle(client, bundleId)).bundle;
    expect(back.state).toBe('queued');
    expect(back.runs[1]).toMatchObject({ state: 'queued', freeAttempts: 1 });
    expect(back.runs[2]).toMatchObject({ state: 'succeeded', result: 2 });
  });

  it('leaves runs of unbundled jobs as they were: own records, per-run history entries', async () => {
    const client = await env.client();
    await publishJob(client, solo.spec);
    const ids = await enqueueWith(client, 'solo-admin', [{ input: 1 }, { input: 2 }, { input: 3 }]);
    expect(ids.every((id) => /^r-/.test(id))).toBe(true);
    expect((await client.children(layout.runs('solo-admin'))).sort()).toEqual([...ids].sort());
    expect(await cancelRun(client, 'solo-admin', ids[1]!)).toBe('cancelled');
    const cancelled = await getRun(client, 'solo-admin', ids[1]!);
    expect(cancelled).toMatchObject({ state: 'cancelled', error: { code: 'DROVER_CANCELLED' } });
    expect(await client.children(layout.historyDir('solo-admin', 'cancelled'))).toEqual([`h-${pad(cancelled.finishedAt!, 13)}-${ids[1]}`]);
    await retryRun(client, 'solo-admin', ids[1]!);
    expect(await client.children(layout.historyDir('solo-admin', 'cancelled'))).toEqual([]);
    expect((await queueDepth(client, 'solo-admin')).total).toBe(4);
    expect((await listRuns(client, 'solo-admin', { which: 'queued' })).map((r) => r.id)).toEqual([...ids, ids[1]]);
    expect((await listRuns(client, 'solo-admin', { limit: 2 })).map((r) => r.id)).toEqual([...ids].sort().slice(0, 2));
  });

  it('answers DROVER_RUN_NOT_FOUND for bundled ids no record holds', async () => {
    const { client, bundleId } = await setup();
    for (const id of [`${bundleId}.8`, `${bundleId}.99`, 'b-000000000-00000000.0', bundleId]) {
      expect(await droverCodeOf(getRun(client, JOB, id)), id).toBe('DROVER_RUN_NOT_FOUND');
      expect(await droverCodeOf(cancelRun(client, JOB, id)), id).toBe('DROVER_RUN_NOT_FOUND');
      expect(await droverCodeOf(retryRun(client, JOB, id)), id).toBe('DROVER_RUN_NOT_FOUND');
    }
  });
});
