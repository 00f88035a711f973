/**
 * The reader side of claim groups (shared/jobs/claim-group.ts), on both
 * backends: a group's lease and inflight, written here by hand as a claim
 * writes them, next to an orphaned group, a run of the older per-run layout
 * and waiting runs. The active listing (paged at any size, and resumed
 * inside a group whose runs finish between pages), the job counts, the
 * admin listing, the claims per worker and `drover status` each see a
 * group's runs — those still active by the claim, once each.
 */
import { afterEach, expect, it, vi } from 'vitest';
import { run as statusCommand } from '../../bin/status-command.ts';
import type { Coordination } from '../../shared/client/coordination.ts';
import { encodeClaimGroup, type ClaimGroupInfo } from '../../shared/jobs/claim-group.ts';
import { defineJob } from '../../shared/jobs/define-job.ts';
import { enqueueWith } from '../../shared/jobs/enqueue.ts';
import { activeRuns, jobCounts } from '../../shared/jobs/job-counts.ts';
import { removeJob } from '../../shared/jobs/job-remove.ts';
import { publishJob } from '../../shared/jobs/job-dirs.ts';
import type { LeaseInfo, RunRecord, WorkerInfo } from '../../shared/jobs/job-types.ts';
import { layout } from '../../shared/jobs/layout.ts';
import { claimsByWorker } from '../../shared/jobs/live-workers.ts';
import { listRuns, pauseJob } from '../../shared/jobs/run-admin.ts';
import { decodeRecord, encodeRecord } from '../../shared/jobs/run-codec.ts';
import { newClaimId } from '../../shared/jobs/run-id.ts';
import { listRunPage, type PageState } from '../../shared/jobs/run-pages.ts';
import { describeOnBackends } from '../helpers/backends.ts';

const JOB = 'cg-read';
const job = defineJob<number, number>({ name: JOB, run: (_ctx, n) => n });

/** Sets a run's record to `change` applied to it, at the version read. */
async function setRecord(client: Coordination, runId: string, change: (r: RunRecord) => RunRecord): Promise<void> {
  const { data, stat } = await client.get(layout.run(JOB, runId));
  await client.set(layout.run(JOB, runId), encodeRecord(change(decodeRecord(data, runId))), stat.version);
}

/** Makes runs active as a claim by `worker` at `at` makes them (attempt + 1, worker, startedAt). */
async function activate(client: Coordination, runIds: readonly string[], worker: string, at: number): Promise<void> {
  for (const id of runIds) await setRecord(client, id, (r) => ({ ...r, state: 'active', attempt: r.attempt + 1, worker, startedAt: at }));
}

/** A claim group's nodes: its inflight, and (unless `orphan`) its lease of `holder`'s session. */
async function writeGroup(client: Coordination, holder: Coordination, info: ClaimGroupInfo, orphan = false): Promise<string> {
  const id = newClaimId(info.at);
  if (!orphan) await holder.create(layout.lease(JOB, id), encodeClaimGroup(info), { mode: 'ephemeral' });
  await client.create(layout.inflightRun(JOB, id), encodeClaimGroup(info));
  return id;
}

async function registerWorker(session: Coordination): Promise<string> {
  await session.ensurePath(layout.workers);
  const info: WorkerInfo = { v: 1, host: 'box', pid: 1, jobs: [JOB], capacity: 10, startedAt: Date.now() };
  const path = await session.create(layout.workerPrefix, Buffer.from(JSON.stringify(info)), { mode: 'ephemeral_sequential' });
  return path.split('/').pop() as string;
}

async function allPages(client: Coordination, state: PageState, limit: number, cursor: string | null = null): Promise<string[]> {
  const ids: string[] = [];
  let pages = 0;
  do {
    const page = await listRunPage(client, JOB, { state, limit, cursor });
    ids.push(...page.runs.map((r) => r.id));
    cursor = page.next;
    if (++pages > 200) throw new Error('runaway pagination');
  } while (cursor !== null);
  return ids;
}

const sorted = (ids: readonly string[]): string[] => [...ids].sort();

type Fourteen = [string, string, string, string, string, string, string, string, string, string, string, string, string, string];

describeOnBackends('jobs: reading claim groups', (env) => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  /**
   * Group A (worker 1): a0..a4 listed, a4 finished since (its finish landed,
   * the inflight not rewritten yet). Group B (worker 2): b0..b3 and x.
   * Group C (a lost worker, no lease): x, which B claimed again after C's
   * loss, and c0, still active by C. Run o: the per-run layout (worker 1).
   * q0, q1 wait.
   */
  async function cluster() {
    const client = await env.client();
    const holder1 = await env.client();
    const holder2 = await env.client();
    await publishJob(client, job.spec);
    await pauseJob(client, JOB);
    const [w1, w2] = [await registerWorker(holder1), await registerWorker(holder2)];
    const enqueued = await enqueueWith(client, JOB, Array.from({ length: 14 }, (_, input) => ({ input })));
    expect(enqueued).toHaveLength(14);
    const [a0, a1, a2, a3, a4, b0, b1, b2, b3, x, c0, o, q0, q1] = enqueued as Fourteen;
    const now = Date.now();
    const A: ClaimGroupInfo = { v: 1, worker: w1, at: now - 3000, runs: [a0, a1, a2, a3, a4] };
    const C: ClaimGroupInfo = { v: 1, worker: 'w-0000009999', at: now - 2000, runs: [x, c0] };
    const B: ClaimGroupInfo = { v: 1, worker: w2, at: now - 1000, runs: [b0, b1, b2, b3, x] };
    await activate(client, A.runs, A.worker, A.at);
    await setRecord(client, a4, (r) => ({ ...r, state: 'succeeded', finishedAt: now }));
    await activate(client, [c0], C.worker, C.at);
    await activate(client, B.runs, B.worker, B.at);
    const groupA = await writeGroup(client, holder1, A);
    const groupC = await writeGroup(client, holder1, C, true);
    const groupB = await writeGroup(client, holder2, B);
    // The layout before claim groups: a lease and an inflight named by the run.
    await activate(client, [o], w1, now);
    const lease: LeaseInfo = { worker: w1, attempt: 1, fence: `${o}:1`, at: now };
    await holder1.create(layout.lease(JOB, o), Buffer.from(JSON.stringify(lease)), { mode: 'ephemeral' });
    await client.create(layout.inflightRun(JOB, o));
    // Name order (c-… by claim time, before r-…), runs by id within a group.
    const activeInOrder = [...sorted([a0, a1, a2, a3]), ...sorted([c0]), ...sorted([b0, b1, b2, b3, x]), o];
    return { client, w1, w2, A, B, C, groupA, groupB, groupC, ids: { a0, a1, a2, a3, a4, b0, b1, b2, b3, x, c0, o, q0, q1 }, activeInOrder };
  }

  it('active: each run a group still holds is listed once, in name then run order, at any page size', async () => {
    const { client, activeInOrder, ids } = await cluster();
    for (const limit of [1, 2, 3, 4, 5, 7, 50]) expect(await allPages(client, 'active', limit), `limit ${limit}`).toEqual(activeInOrder);
    // `all` lists the active section the same way, then the waiting runs (claimed runs' items are skipped).
    const all = await allPages(client, 'all', 3);
    expect(all.slice(0, activeInOrder.length)).toEqual(activeInOrder);
    expect(all.slice(activeInOrder.length)).toEqual([ids.q0, ids.q1]);
  });

  it('active: a page cut inside a group resumes after its last run, though runs before it finished meanwhile', async () => {
    const { client, A, groupA, activeInOrder, ids } = await cluster();
    const inA = sorted([ids.a0, ids.a1, ids.a2, ids.a3]);
    const first = await listRunPage(client, JOB, { state: 'active', limit: 2 });
    expect(first.runs.map((r) => r.id)).toEqual(inA.slice(0, 2));
    // The first and third of the group finish; the worker's next finish multi shrinks the inflight.
    for (const id of [inA[0]!, inA[2]!]) await setRecord(client, id, (r) => ({ ...r, state: 'succeeded', finishedAt: Date.now() }));
    const left = A.runs.filter((id) => id !== inA[0] && id !== inA[2]);
    await client.set(layout.inflightRun(JOB, groupA), encodeClaimGroup({ ...A, runs: left }));
    // An index into the shrunk list would skip inA[3]; the cursor names the last run listed instead.
    const rest = await allPages(client, 'active', 2, first.next);
    expect(rest).toEqual([inA[3], ...activeInOrder.slice(4)]);
  });

  it('counts a group as the runs its inflight lists; the admin listing and the claims per worker expand it', async () => {
    const { client, w1, w2, A, B, C, ids } = await cluster();
    // Inflight: A 5 (a4 not yet dropped) + C 2 + B 5 + o.
    expect((await jobCounts(client, JOB)).active).toBe(A.runs.length + C.runs.length + B.runs.length + 1);
    // Leased: C has no lease.
    expect(await activeRuns(client, JOB, layout.leases(JOB))).toBe(A.runs.length + B.runs.length + 1);

    const listed = await listRuns(client, JOB, { which: 'active' });
    expect(sorted(listed.map((r) => r.id))).toEqual(sorted([ids.a0, ids.a1, ids.a2, ids.a3, ids.c0, ids.b0, ids.b1, ids.b2, ids.b3, ids.x, ids.o]));
    expect(listed.every((r) => r.state === 'active')).toBe(true);
    expect(await listRuns(client, JOB, { which: 'active', limit: 3 })).toHaveLength(3);

    const claims = await claimsByWorker(client, [JOB]);
    expect(sorted((claims.get(w1) ?? []).map((c) => c.runId))).toEqual(sorted([...A.runs, ids.o]));
    expect(claims.get(w1)?.find((c) => c.runId === ids.o)).toEqual({ job: JOB, runId: ids.o, attempt: 1 });
    expect(sorted((claims.get(w2) ?? []).map((c) => c.runId))).toEqual(sorted(B.runs));
    expect(claims.has(C.worker)).toBe(false);
  });

  it('a claim group whose runs have all landed counts nothing, and one gone meanwhile is skipped', async () => {
    const { client, w2, B, groupB } = await cluster();
    await client.set(layout.inflightRun(JOB, groupB), encodeClaimGroup({ ...B, runs: [] }));
    expect((await claimsByWorker(client, [JOB])).get(w2) ?? []).toEqual([]);
    const before = (await jobCounts(client, JOB)).active;
    await client.delete(layout.inflightRun(JOB, groupB));
    expect((await jobCounts(client, JOB)).active).toBe(before);
    expect((await allPages(client, 'active', 2)).filter((id) => B.runs.includes(id))).toEqual([]);
  });

  it("job removal counts a group's runs, and lets a group whose runs have all landed go", async () => {
    const client = await env.client();
    const holder = await env.client();
    await publishJob(client, job.spec);
    const runs = await enqueueWith(client, JOB, [{ input: 1 }, { input: 2 }]);
    const info: ClaimGroupInfo = { v: 1, worker: 'w-0000000001', at: Date.now(), runs };
    await activate(client, runs, info.worker, info.at);
    const group = await writeGroup(client, holder, info);
    const refusal = await removeJob(client, JOB).catch((err: unknown) => err as { code?: string; message?: string });
    expect(refusal).toMatchObject({ code: 'DROVER_JOB_IN_USE', message: expect.stringContaining('has 2 active runs') });
    // Every finish landed; the group's nodes are still on their way out.
    for (const id of runs) await setRecord(client, id, (r) => ({ ...r, state: 'succeeded', finishedAt: Date.now() }));
    await client.set(layout.inflightRun(JOB, group), encodeClaimGroup({ ...info, runs: [] }));
    expect((await removeJob(client, JOB)).job).toBe(JOB);
    expect(await client.exists(layout.inflight(JOB))).toBeNull();
  });

  it('drover status: a worker running a group shows its runs, and the queue its leased runs', async () => {
    const { w1, w2, A, B } = await cluster();
    let out = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      if (String(chunk).startsWith('{')) out += String(chunk);
      return true;
    });
    // Its exit code says whether the ensemble answered the four-letter probe: not what is tested here.
    await statusCommand(['--json', '--connect', env.backend().connectString, '--root', env.root()]);
    vi.restoreAllMocks();
    const status = JSON.parse(out) as { workers: { name: string; running: unknown[] }[]; queues: { job: string; active: number; inflight: number }[] };
    expect(status.workers.find((w) => w.name === w1)?.running).toHaveLength(A.runs.length + 1);
    expect(status.workers.find((w) => w.name === w2)?.running).toHaveLength(B.runs.length);
    expect(status.queues.find((q) => q.job === JOB)).toMatchObject({ active: A.runs.length + B.runs.length + 1 });
  });
});
