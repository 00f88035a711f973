/**
 * Claim groups on both backends (shared/jobs/claim-group.ts): the single
 * runs of one claim share one lease and one inflight; the inflight's list
 * shrinks as finishes land and the group goes with the last; a fenced run
 * leaves its group; recovery of a group whose session ended re-queues
 * exactly the runs still active by that claim.
 */
import { EventEmitter } from 'node:events';
import { beforeEach, expect, it } from 'vitest';
import { pino } from 'pino';
import { describeOnBackends, until } from '../helpers/backends.ts';
import { claimsByWorker } from '../../shared/jobs/live-workers.ts';
import { startWorker } from '../../worker/runtime.ts';
import type { Coordination } from '../../shared/client/coordination.ts';
import { decodeClaimGroup, encodeClaimGroup } from '../../shared/jobs/claim-group.ts';
import { defineJob } from '../../shared/jobs/define-job.ts';
import { enqueueWith } from '../../shared/jobs/enqueue.ts';
import { publishJob } from '../../shared/jobs/job-dirs.ts';
import { jobCounts } from '../../shared/jobs/job-counts.ts';
import { layout } from '../../shared/jobs/layout.ts';
import { requeueOrphans } from '../../shared/jobs/recovery.ts';
import { getRun, pauseJob, queueDepth, resumeJob } from '../../shared/jobs/run-admin.ts';
import { isClaimId, newClaimId } from '../../shared/jobs/run-id.ts';
import { Claimer, type ClaimedRun } from '../../worker/runs/claim.ts';
import { FinishBatcher } from '../../worker/runs/finish.ts';
import { isDroverError } from '../../shared/errors.ts';
import { childrenGone, waitForRun } from './jobs-waits.ts';

const silent = pino({ enabled: false });
const job = defineJob({ name: 'cg', retries: 0, run: () => null });

const bus = new EventEmitter();
/**
 * Labels the test has let go. A record reads active once the claim lands, which can be before
 * the worker has started the handler: a go sent then must not be missed.
 */
const released = new Set<string>();
beforeEach(() => released.clear());
function release(label: string): void {
  released.add(label);
  bus.emit(`go-${label}`);
}
function gate(label: string): Promise<string> {
  return released.has(label) ? Promise.resolve(label) : new Promise<string>((resolve) => bus.once(`go-${label}`, () => resolve(label)));
}
/** Short runs, then long ones gated by the test: what a worker's claim-ahead must not hoard. */
const mixed = defineJob<{ label: string; hold?: boolean }, string>({
  name: 'cg-mixed',
  concurrency: 2,
  run: (_ctx, input) => (input.hold ? gate(input.label) : input.label),
});
/** Runs until the test releases it by its input label. */
const gated = defineJob<string, string>({
  name: 'cg-gated',
  concurrency: 4,
  run: (_ctx, label) => gate(label),
});

function claimer(client: Coordination, worker: string): Claimer {
  return new Claimer({ client, job: 'cg', workerId: () => worker, logger: silent, isCancelRequested: () => false });
}

function succeed(finisher: FinishBatcher, c: ClaimedRun) {
  return finisher.finish({ job: 'cg', runId: c.runId, version: c.version, group: c.group!, kind: 'succeeded', record: { ...c.record, state: 'succeeded', finishedAt: Date.now() } });
}

async function groupRuns(client: Coordination, name: string): Promise<string[]> {
  return decodeClaimGroup((await client.get(layout.inflightRun('cg', name))).data)?.runs ?? [];
}

describeOnBackends('jobs: claim groups', (env) => {
  it("one lease and one inflight per claim, listing its runs; the list shrinks as finishes land and the last closes the group", async () => {
    const client = await env.client();
    await publishJob(client, job.spec);
    const ids = await enqueueWith(client, 'cg', [0, 1, 2, 3].map((input) => ({ input })));
    const claimed = await claimer(client, 'w-a').claim(4);
    expect(claimed.map((c) => c.runId).sort()).toEqual([...ids].sort());
    const [lease, ...moreLeases] = await client.children(layout.leases('cg'));
    expect(moreLeases).toEqual([]);
    expect(isClaimId(lease!)).toBe(true);
    expect(await client.children(layout.inflight('cg'))).toEqual([lease]);
    expect((await groupRuns(client, lease!)).sort()).toEqual([...ids].sort());
    expect((await client.exists(layout.lease('cg', lease!)))?.ephemeralOwner).toBe(client.sessionId);
    // Records active by the claim: its worker, started at the claim's time.
    const info = decodeClaimGroup((await client.get(layout.inflightRun('cg', lease!))).data)!;
    for (const id of ids) expect(await getRun(client, 'cg', id)).toMatchObject({ state: 'active', worker: 'w-a', startedAt: info.at });

    const finisher = new FinishBatcher(client, silent);
    const [c0, c1, c2, c3] = claimed;
    // Each finish multi lists the runs not landed but its own: the list is exact once it lands,
    // for a finish on its own and for a batch.
    expect((await succeed(finisher, c0!)).ok).toBe(true);
    expect((await groupRuns(client, lease!)).sort()).toEqual([c1!.runId, c2!.runId, c3!.runId].sort());
    expect((await Promise.all([succeed(finisher, c1!), succeed(finisher, c2!)])).every((r) => r.ok)).toBe(true);
    expect(await groupRuns(client, lease!)).toEqual([c3!.runId]);
    expect(await jobCounts(client, 'cg')).toMatchObject({ active: 1 });
    expect(await client.exists(layout.lease('cg', lease!))).not.toBeNull();
    // The last run's finish takes the group's lease and inflight with it.
    expect((await succeed(finisher, c3!)).ok).toBe(true);
    expect(await client.children(layout.leases('cg'))).toEqual([]);
    await finisher.closed();
    expect(await client.children(layout.leases('cg'))).toEqual([]);
    expect(await client.children(layout.inflight('cg'))).toEqual([]);
  });

  it('a fenced run leaves its group: the group closes when the others have landed', async () => {
    const client = await env.client();
    await publishJob(client, job.spec);
    await enqueueWith(client, 'cg', [{ input: 'a' }, { input: 'b' }]);
    const [a, b] = await claimer(client, 'w-f').claim(2);
    // Someone moves b's record on (an admin action, a re-queue).
    await client.set(layout.run('cg', b!.runId), (await client.get(layout.run('cg', b!.runId))).data);
    const finisher = new FinishBatcher(client, silent);
    const fenced = await succeed(finisher, b!);
    expect(!fenced.ok && isDroverError(fenced.error, 'DROVER_FENCED')).toBe(true);
    expect(await client.children(layout.leases('cg'))).toHaveLength(1);
    expect((await succeed(finisher, a!)).ok).toBe(true);
    await finisher.closed();
    expect(await client.children(layout.leases('cg'))).toEqual([]);
    expect(await client.children(layout.inflight('cg'))).toEqual([]);
  });

  it("recovery of a group whose session ended re-queues only its runs still active by that claim", async () => {
    const client = await env.client();
    await publishJob(client, job.spec);
    const ids = await enqueueWith(client, 'cg', [1, 2, 3].map((input) => ({ input })));
    const doomed = await env.client();
    const claimed = await claimer(doomed, 'w-doomed').claim(3);
    expect(claimed).toHaveLength(3);
    // One finished before the crash; its record is no longer active by the claim.
    const finisher = new FinishBatcher(doomed, silent);
    expect((await succeed(finisher, claimed[0]!)).ok).toBe(true);
    await doomed.close();
    await childrenGone(client, layout.leases('cg'));
    const report = await requeueOrphans(client, 'cg');
    expect(report.dead).toEqual([]);
    expect(report.requeued.sort()).toEqual([claimed[1]!.runId, claimed[2]!.runId].sort());
    expect((await getRun(client, 'cg', claimed[0]!.runId)).state).toBe('succeeded');
    for (const c of claimed.slice(1)) {
      expect(await waitForRun(client, 'cg', c.runId, (r) => r.state === 'queued')).toMatchObject({ stalls: 1, freeAttempts: 1, error: { code: 'DROVER_WORKER_LOST' } });
    }
    expect(await client.children(layout.inflight('cg'))).toEqual([]);
    // The re-queued runs are claimable again, by a new claim of their own.
    const again = await claimer(client, 'w-b').claim(5);
    expect(again.map((c) => c.runId).sort()).toEqual(ids.filter((id) => id !== claimed[0]!.runId).sort());
    expect(await requeueOrphans(client, 'cg')).toEqual({ requeued: [], dead: [] });
  });

  it('recovery puts back the slots a dead claim reserved and never took, as waiting runs (no attempt counted)', async () => {
    const client = await env.client();
    await publishJob(client, job.spec);
    const ids = await enqueueWith(client, 'cg', [1, 2, 3].map((input) => ({ input })));
    // A claim that died between its reservation and its take: the head moved past the slots,
    // the group names their range, and no lease (its session is gone).
    const head = layout.laneHead('cg', 5);
    await client.set(head, Buffer.from('3'));
    const claimId = newClaimId();
    await client.create(layout.inflightRun('cg', claimId), encodeClaimGroup({ v: 1, worker: 'w-gone', at: Date.now(), runs: [], range: [{ priority: 5, from: 0, to: 3 }] }));
    expect((await queueDepth(client, 'cg')).total).toBe(0);
    expect(await requeueOrphans(client, 'cg')).toEqual({ requeued: [], dead: [] });
    expect(await client.children(layout.inflight('cg'))).toEqual([]);
    expect((await queueDepth(client, 'cg')).total).toBe(3);
    for (const id of ids) expect(await getRun(client, 'cg', id)).toMatchObject({ state: 'queued', attempt: 0 });
    const again = await claimer(client, 'w-b').claim(5);
    expect(again.map((c) => c.runId)).toEqual(ids);
  });

  it("a worker's active count follows its runs as they end one by one, while others of their claim run on", async () => {
    const client = await env.client();
    await publishJob(client, gated.spec);
    await pauseJob(client, 'cg-gated');
    const labels = ['a', 'b', 'c', 'd'];
    const ids = await enqueueWith(client, 'cg-gated', labels.map((input) => ({ input })));
    const worker = await startWorker({ client, jobs: [gated], schedule: false });
    env.defer(() => worker.close({ graceMs: 500 }));
    await resumeJob(client, 'cg-gated');
    await Promise.all(ids.map((id) => waitForRun(client, 'cg-gated', id, (r) => r.state === 'active')));
    // One claim took all four: one group.
    expect(await client.children(layout.leases('cg-gated'))).toHaveLength(1);
    const active = async (): Promise<number> => (await jobCounts(client, 'cg-gated')).active;
    expect(await active()).toBe(4);
    for (const [k, label] of labels.slice(0, 3).entries()) {
      release(label);
      await waitForRun(client, 'cg-gated', ids[k]!, (r) => r.state === 'succeeded');
      await until(`${3 - k} active`, async () => (await active()) === 3 - k || null);
      const held = (await claimsByWorker(client, ['cg-gated'])).get(worker.id) ?? [];
      expect(held.map((c) => c.runId).sort()).toEqual(ids.slice(k + 1).sort());
    }
    release('d');
    await waitForRun(client, 'cg-gated', ids[3]!, (r) => r.state === 'succeeded');
    await childrenGone(client, layout.inflight('cg-gated'));
    expect(await active()).toBe(0);
  });

  it('runs claimed ahead for short runs are handed back when the runs got long, for another worker to take', async () => {
    const client = await env.client();
    await publishJob(client, mixed.spec);
    const a = await startWorker({ client, jobs: [mixed], schedule: false });
    env.defer(() => a.close({ graceMs: 500 }));
    // Short runs first: the worker learns to claim ahead.
    const quick = await enqueueWith(client, 'cg-mixed', Array.from({ length: 20 }, (_, i) => ({ input: { label: `q${i}` } })));
    await Promise.all(quick.map((id) => waitForRun(client, 'cg-mixed', id, (r) => r.state === 'succeeded')));
    const long = await enqueueWith(client, 'cg-mixed', ['l0', 'l1', 'l2', 'l3'].map((label) => ({ input: { label, hold: true } })));
    // Two run on A (concurrency 2); the two A claimed ahead go back to the queue, not counted.
    const back = await until('two long runs handed back', async () => {
      const recs = await Promise.all(long.map((id) => getRun(client, 'cg-mixed', id)));
      const queued = recs.filter((r) => r.state === 'queued');
      return queued.length === 2 ? queued : null;
    });
    for (const r of back) expect(r.freeAttempts).toBe(1);
    const b = await startWorker({ client: await env.client(), jobs: [mixed], schedule: false });
    env.defer(() => b.close({ graceMs: 500 }));
    const onB = await Promise.all(back.map((r) => waitForRun(client, 'cg-mixed', r.id, (x) => x.state === 'active')));
    expect(onB.every((r) => r.worker === b.id)).toBe(true);
    for (const label of ['l0', 'l1', 'l2', 'l3']) release(label);
    await Promise.all(long.map((id) => waitForRun(client, 'cg-mixed', id, (r) => r.state === 'succeeded')));
  });
});
