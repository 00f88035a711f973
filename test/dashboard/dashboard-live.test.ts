/**
 * The dashboard's live views over a real cluster: state written the way
 * the runtime writes it (layout.ts) shows in the SSE feed, changes arrive
 * as events, the znode browser reads data/Stat/ACL, and the ensemble view
 * reads every member's srvr/mntr.
 */
import { expect, it } from 'vitest';
import { startDashboard } from '../../dashboard/index.ts';
import { defineJob } from '../../shared/jobs/define-job.ts';
import { publishJob } from '../../shared/jobs/job-dirs.ts';
import type { RunRecord, WorkerInfo } from '../../shared/jobs/job-types.ts';
import { layout } from '../../shared/jobs/layout.ts';
import { describeOnBackends } from '../helpers/backends.ts';
import { openFeed } from './sse-client.ts';

interface RunLike {
  id: string;
  state: string;
  progress?: { pct: number; message?: string };
}

describeOnBackends('dashboard live views', (env) => {
  async function start() {
    const client = await env.client();
    const { app, url } = await startDashboard({ client, connect: env.backend().connectString, port: 0, probeIntervalMs: 500 });
    env.defer(() => app.close());
    const feed = await openFeed(url);
    env.defer(() => feed.close());
    return { client, app, url, feed };
  }

  it('shows workers, queues and runs as they change, pushed over SSE', async () => {
    const { client, url, feed } = await start();
    await publishJob(client, defineJob({ name: 'resize', run: () => null }).spec);
    await feed.until('the job in the queues view', (s) => (s['queues'] as { job: string }[]).find((q) => q.job === 'resize'));

    // A worker registers (its own session, so closing it is the worker dying).
    const workerSession = await env.client();
    await workerSession.ensurePath(layout.workers);
    const info: WorkerInfo = { v: 1, host: 'box-1', pid: 4242, jobs: ['resize'], capacity: 2, startedAt: Date.now() };
    const workerPath = await workerSession.create(layout.workerPrefix, Buffer.from(JSON.stringify(info)), { mode: 'ephemeral_sequential' });
    const workerName = workerPath.split('/').pop() as string;
    const shown = await feed.until('the worker', (s) => (s['workers'] as { name: string; host?: string; pid?: number }[]).find((w) => w.name === workerName));
    expect(shown).toMatchObject({ host: 'box-1', pid: 4242, jobs: ['resize'] });

    // Enqueue through the API: the run shows queued, the queue deep by one.
    const res = await fetch(new URL('/api/jobs/resize/runs', url), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input: { w: 64 } }) });
    expect(res.status).toBe(201);
    const { runId } = (await res.json()) as { runId: string };
    const queued = await feed.until('the queued run', (s) => (s['runs'] as RunLike[]).find((r) => r.id === runId));
    expect(queued.state).toBe('queued');
    await feed.until('queue depth 1', (s) => (s['queues'] as { job: string; depth: number }[]).find((q) => q.job === 'resize' && q.depth === 1));

    // Progress written to the run's znode (as ctx.progress does) arrives as an event.
    const { data, stat } = await client.get(layout.run('resize', runId));
    const record = JSON.parse(data.toString()) as RunRecord;
    const active: RunRecord = { ...record, state: 'active', attempt: 1, worker: workerName, startedAt: Date.now(), progress: { pct: 40, message: 'thumbnails', at: Date.now() } };
    await client.set(layout.run('resize', runId), Buffer.from(JSON.stringify(active)), stat.version);
    // Claimed as the runtime claims: a lease of the worker's session (the dashboard watches leased records).
    await workerSession.ensurePath(layout.leases('resize'));
    await workerSession.create(layout.lease('resize', runId), Buffer.from(JSON.stringify({ worker: workerName, attempt: 1, fence: '1', at: Date.now() })), { mode: 'ephemeral' });
    const moving = await feed.until('progress 40', (s) => (s['runs'] as RunLike[]).find((r) => r.id === runId && r.progress?.pct === 40));
    expect(moving).toMatchObject({ state: 'active', progress: { message: 'thumbnails' } });

    // The worker's session ends: it leaves the list.
    await workerSession.close();
    await feed.until('the worker gone', (s) => !(s['workers'] as { name: string }[]).some((w) => w.name === workerName));
  });

  it('cancels and retries runs, pauses and resumes queues, through the API', async () => {
    const { client, url, feed } = await start();
    await publishJob(client, defineJob({ name: 'idle', run: () => null }).spec);
    const post = async (path: string, body?: unknown) => {
      const res = await fetch(new URL(path, url), { method: 'POST', ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const { body } = await post('/api/jobs/idle/runs', { input: { n: 1 }, priority: 2 });
    const runId = body['runId'] as string;
    // No worker runs 'idle': it stays queued until cancelled.
    expect((await post(`/api/runs/idle/${runId}/cancel`)).status).toBe(200);
    await feed.until('the run cancelled', (s) => (s['runs'] as RunLike[]).find((r) => r.id === runId && r.state === 'cancelled'));
    const again = await post(`/api/runs/idle/${runId}/cancel`);
    expect(again.status).toBe(409);
    expect((again.body['error'] as { code: string }).code).toBe('DROVER_RUN_STATE');
    expect((await post(`/api/runs/idle/${runId}/retry`)).status).toBe(200);
    await feed.until('the run queued again', (s) => (s['runs'] as RunLike[]).find((r) => r.id === runId && r.state === 'queued'));
    expect((await post('/api/jobs/idle/pause')).status).toBe(200);
    await feed.until('the queue paused', (s) => (s['queues'] as { job: string; paused: boolean }[]).find((q) => q.job === 'idle' && q.paused));
    expect((await post('/api/jobs/idle/resume')).status).toBe(200);
    await feed.until('the queue resumed', (s) => (s['queues'] as { job: string; paused: boolean }[]).find((q) => q.job === 'idle' && !q.paused));
  });

  it('shows partition owners and the rebalance timeline', async () => {
    const { client, feed } = await start();
    await client.ensurePath(layout.partitionOwners('orders'));
    await client.ensurePath(layout.partitionLog('orders'));
    await client.create(layout.partitionAssignment('orders'), Buffer.from(JSON.stringify({ v: 1, generation: 3, partitions: 4, reason: 'member joined', at: 1, ranges: [{ member: 'm-0000000001', worker: 'w-0000000001', from: 0, to: 2 }, { member: 'm-0000000002', worker: 'w-0000000002', from: 2, to: 4 }] })));
    for (const p of [0, 1, 2, 3]) await client.create(layout.partitionOwner('orders', p), Buffer.from(JSON.stringify({ worker: p < 2 ? 'w-0000000001' : 'w-0000000002', generation: 3 })), { mode: 'ephemeral' });
    await client.create(layout.partitionLogPrefix('orders'), Buffer.from(JSON.stringify({ generation: 3, reason: 'member joined' })), { mode: 'persistent_sequential' });
    const view = await feed.until('four owners', (s) =>
      (s['partitions'] as { job: string; owners: unknown[]; timeline: unknown[] }[]).find((p) => p.job === 'orders' && p.owners.length === 4 && p.timeline.length === 1),
    );
    expect(view).toMatchObject({ generation: 3, partitions: 4, owners: [{ partition: 0, worker: 'w-0000000001' }, { partition: 1 }, { partition: 2, worker: 'w-0000000002' }, { partition: 3 }] });
  });

  it('browses znodes with data, Stat and ACL, and probes every member', async () => {
    const { client, url } = await start();
    await client.create('/notes', Buffer.from('{"hello":"<b>world</b>"}'));
    await client.create('/notes/bin', Buffer.from([0xff, 0x00, 0xfe]));
    const node = (await (await fetch(new URL('/api/znodes?path=/notes', url))).json()) as { data: { text?: string }; stat: { numChildren: number; version: number }; acl: { scheme: string; id: string; perms: string }[]; children: string[] };
    expect(node.data.text).toBe('{"hello":"<b>world</b>"}');
    expect(node.stat).toMatchObject({ numChildren: 1, version: 0 });
    expect(node.acl).toEqual([{ scheme: 'world', id: 'anyone', perms: expect.stringMatching(/^[cdrwa]{5}$/) }]);
    expect(node.children).toEqual(['bin']);
    const bin = (await (await fetch(new URL('/api/znodes?path=/notes/bin', url))).json()) as { data: { base64?: string; bytes: number } };
    expect(bin.data).toMatchObject({ base64: Buffer.from([0xff, 0x00, 0xfe]).toString('base64'), bytes: 3 });

    const { members } = (await (await fetch(new URL('/api/ensemble', url))).json()) as { members: { up: boolean; stats?: { mode: string; zxid?: string } }[] };
    expect(members).toHaveLength(env.backend().members.length);
    expect(members.every((m) => m.up)).toBe(true);
    const modes = members.map((m) => m.stats?.mode).sort();
    if (env.backend().name === 'drover') expect(modes).toEqual(['follower', 'follower', 'leader']);
    else expect(modes.every((m) => m === 'standalone' || m === 'leader' || m === 'follower')).toBe(true);
    expect(members[0]?.stats?.zxid).toMatch(/^0x[0-9a-f]+$/);
  });
});
