/**
 * The dashboard and claim groups (shared/jobs/claim-group.ts): the workers
 * view lists a group's runs as its worker's (from the tree: the group's
 * inflight when held, its runs' records when read), and the live model —
 * the runs table, the workers' load and the queues' counts — follows a
 * group's runs as their finishes land, watching the group's inflight, not
 * each run.
 */
import { mirrorTree } from '../helpers/mirror-tree.ts';
import { describe, expect, it } from 'vitest';
import { LiveState } from '../../dashboard/live/live-state.ts';
import { workersView } from '../../dashboard/model/cluster-view.ts';
import type { Coordination } from '../../shared/client/coordination.ts';
import { encodeClaimGroup, type ClaimGroupInfo } from '../../shared/jobs/claim-group.ts';
import { defineJob } from '../../shared/jobs/define-job.ts';
import { enqueueWith } from '../../shared/jobs/enqueue.ts';
import { publishJob } from '../../shared/jobs/job-dirs.ts';
import type { RunRecord, WorkerInfo } from '../../shared/jobs/job-types.ts';
import { layout } from '../../shared/jobs/layout.ts';
import { pauseJob } from '../../shared/jobs/run-admin.ts';
import { decodeRecord, encodeRecord } from '../../shared/jobs/run-codec.ts';
import { newClaimId } from '../../shared/jobs/run-id.ts';
import { silentLogger } from '../../shared/log.ts';
import { describeOnBackends, until } from '../helpers/backends.ts';

const tree = mirrorTree;

describe('workers view: claim groups', () => {
  const W = 'w-0000000001';
  const G = 'c-00000000a-aaaaaaaa';
  const lease: ClaimGroupInfo = { v: 1, worker: W, at: 100, runs: ['r-1', 'r-2', 'r-3', 'r-4'] };
  const worker = { v: 1, host: 'a', pid: 1, jobs: ['img'], capacity: 8, startedAt: 1 };

  it('lists the runs the inflight still holds that are active by the claim, with their attempts; a run without a record in the tree without one', () => {
    const view = workersView(
      tree({
        [`/workers/${W}`]: worker,
        [`/leases/img/${G}`]: lease,
        // r-1's finish landed: the inflight no longer lists it.
        [`/inflight/img/${G}`]: { ...lease, runs: ['r-2', 'r-3', 'r-4'] },
        '/runs/img/r-2': { v: 1, id: 'r-2', job: 'img', state: 'active', attempt: 2, worker: W, startedAt: 100 },
        // Re-queued and claimed again since: another claim's now.
        '/runs/img/r-3': { v: 1, id: 'r-3', job: 'img', state: 'active', attempt: 3, worker: W, startedAt: 200 },
      }),
    );
    expect(view[0]).toMatchObject({ name: W, running: [{ job: 'img', runId: 'r-2', attempt: 2 }, { job: 'img', runId: 'r-4' }], load: 0.25 });
    expect(view[0]?.running[1]).not.toHaveProperty('attempt');
  });

  it('without the inflight and records (a bare mirror), the lease lists the claim', () => {
    const view = workersView(tree({ [`/workers/${W}`]: worker, [`/leases/img/${G}`]: lease }));
    expect(view[0]?.running).toEqual(lease.runs.map((runId) => ({ job: 'img', runId })));
  });
});

const JOB = 'dash-cg';
const job = defineJob<number, number>({ name: JOB, run: (_ctx, n) => n });

async function setRecord(client: Coordination, runId: string, change: (r: RunRecord) => RunRecord): Promise<void> {
  const { data, stat } = await client.get(layout.run(JOB, runId));
  await client.set(layout.run(JOB, runId), encodeRecord(change(decodeRecord(data, runId))), stat.version);
}

describeOnBackends('dashboard live model: claim groups', (env) => {
  it("follows a group's runs: the table, the worker's load and the queue's counts, as finishes land and the group closes", async () => {
    const client = await env.client();
    const holder = await env.client();
    await publishJob(client, job.spec);
    await pauseJob(client, JOB);
    await holder.ensurePath(layout.workers);
    const info: WorkerInfo = { v: 1, host: 'box', pid: 1, jobs: [JOB], capacity: 4, startedAt: Date.now() };
    const w = (await holder.create(layout.workerPrefix, Buffer.from(JSON.stringify(info)), { mode: 'ephemeral_sequential' })).split('/').pop() as string;

    const live = new LiveState({ client, connect: env.backend().connectString, logger: silentLogger, sampleIntervalMs: 100, batchMs: 10, probeIntervalMs: 60_000 });
    env.defer(() => live.close());
    await live.start();

    const runs = await enqueueWith(client, JOB, [0, 1, 2].map((input) => ({ input })));
    const at = Date.now();
    const group: ClaimGroupInfo = { v: 1, worker: w, at, runs };
    for (const id of runs) await setRecord(client, id, (r) => ({ ...r, state: 'active', attempt: r.attempt + 1, worker: w, startedAt: at }));
    const claim = newClaimId(at);
    // As the claim multi makes them: the lease never shows without its inflight.
    await holder.multi([
      { op: 'create', path: layout.inflightRun(JOB, claim), data: encodeClaimGroup(group) },
      { op: 'create', path: layout.lease(JOB, claim), data: encodeClaimGroup(group), mode: 'ephemeral' },
    ]);

    const running = (): string[] => (live.view().workers.find((x) => x.name === w)?.running ?? []).map((r) => r.runId).sort();
    const queue = () => live.view().queues.find((q) => q.job === JOB);
    const stateOf = (id: string) => live.view().runs.find((r) => r.id === id)?.state;
    await until('the group held by its worker', () => running().length === 3 && runs.every((id) => stateOf(id) === 'active'));
    expect(live.view().workers.find((x) => x.name === w)?.running.every((r) => r.attempt === 1)).toBe(true);
    await until('the queue counting its runs', () => queue()?.active === 3 && queue()?.inflight === 3);

    // The first run's finish lands; the same multi shrinks the inflight.
    const [first, ...rest] = runs as [string, ...string[]];
    await setRecord(client, first, (r) => ({ ...r, state: 'succeeded', finishedAt: Date.now() }));
    await client.set(layout.inflightRun(JOB, claim), encodeClaimGroup({ ...group, runs: rest }));
    await until('the first run finished', () => stateOf(first) === 'succeeded' && running().join() === [...rest].sort().join());
    await until('the queue counting the two left', () => queue()?.active === 2 && queue()?.inflight === 2);

    // The last finishes land and the group closes: lease and inflight go together.
    for (const id of rest) await setRecord(client, id, (r) => ({ ...r, state: 'succeeded', finishedAt: Date.now() }));
    await client.multi([
      { op: 'delete', path: layout.lease(JOB, claim) },
      { op: 'delete', path: layout.inflightRun(JOB, claim) },
    ]);
    await until('every run finished and the worker idle', () => runs.every((id) => stateOf(id) === 'succeeded') && running().length === 0);
    await until('the queue with none active', () => queue()?.active === 0 && queue()?.inflight === 0);
  });
});
