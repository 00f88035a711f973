/**
 * The scheduler drives the runtime's recovery on real servers: a run whose
 * worker's session died is re-queued (child watch on leases/inflight) and
 * finished by another worker; a delayed run is promoted by the scheduler's
 * timer with no worker of its job running; a cron job published after the
 * scheduler started is picked up from the /jobs watch.
 */
import { EventEmitter } from 'node:events';
import { expect, it } from 'vitest';
import { connectCoordination } from '../../shared/client/zk-client.ts';
import { defineJob, type Job } from '../../shared/jobs/define-job.ts';
import { enqueue } from '../../shared/jobs/enqueue.ts';
import { publishJob } from '../../shared/jobs/job-dirs.ts';
import type { JobSpec } from '../../shared/jobs/job-types.ts';
import { silentLogger } from '../../shared/log.ts';
import { recoveryDuties } from '../../worker/runs/recovery-duties.ts';
import { startWorker } from '../../worker/runtime.ts';
import { fireTimeOf, pruneFires, readFires } from '../../worker/scheduler/schedule-store.ts';
import { layout } from '../../shared/jobs/layout.ts';
import { startSchedulerCandidate } from '../../worker/scheduler/scheduler.ts';
import { describeOnBackends, nextEvent, until, type BackendEnv } from '../helpers/backends.ts';
import { finished, waitForRun } from './jobs-waits.ts';

const bus = new EventEmitter();
bus.setMaxListeners(50);

/** Hangs on its first attempt (its worker is then killed), succeeds on the next. */
const stuck = defineJob<null, string>({
  name: 'stuck',
  retries: 1,
  run: (ctx) =>
    new Promise((resolve) => {
      bus.emit('stuck-started', { attempt: ctx.attempt, runId: ctx.runId });
      if (ctx.attempt > 1) resolve(`done on attempt ${ctx.attempt}`);
      // The first attempt never returns by itself: its worker dies under it.
    }),
});

async function scheduler(env: BackendEnv, workerId: string): Promise<void> {
  const client = await env.client();
  const s = await startSchedulerCandidate({ client, workerId, logger: silentLogger, jobs: () => [], duties: recoveryDuties });
  env.defer(() => s.close());
  await s.whenLeading();
}

describeOnBackends('scheduler: recovery duties', (env) => {
  it("re-queues a run whose worker's session died; another worker finishes it", async () => {
    const client = await env.client();
    await publishJob(client, stuck.spec);
    await scheduler(env, 'w-sched');
    // The doomed worker runs on its own session, which the test ends (as a crash would).
    const doomedClient = await connectCoordination({ connect: env.backend().connectString, root: env.root(), sessionTimeoutMs: 4000 });
    const doomed = await startWorker({ client: doomedClient, jobs: [stuck as Job], schedule: false, inline: true });
    env.defer(() => doomed.close({ graceMs: 100 }).catch(() => undefined));
    const started = nextEvent<{ attempt: number; runId: string }>('first attempt', (d) => bus.once('stuck-started', d));
    const runId = await enqueue(client, 'stuck', null);
    expect((await started).attempt).toBe(1);
    const rerun = nextEvent<{ attempt: number; runId: string }>('second attempt', (d) => bus.once('stuck-started', d));
    await doomedClient.close();
    const queued = await waitForRun(client, 'stuck', runId, (r) => r.state === 'queued', { what: 're-queued by the scheduler' });
    expect(queued.error?.code).toBe('DROVER_WORKER_LOST');
    const rescuer = await startWorker({ connect: env.backend().connectString, root: env.root(), jobs: [stuck as Job], schedule: false, inline: true, sessionTimeoutMs: 4000 });
    env.defer(() => rescuer.close({ graceMs: 500 }));
    expect((await rerun).runId).toBe(runId);
    const rec = await waitForRun(client, 'stuck', runId, finished);
    expect(rec.state).toBe('succeeded');
    expect(rec.attempt).toBe(2);
  });

  it('promotes a delayed run on its due time with no worker of the job running', async () => {
    const client = await env.client();
    const spec: JobSpec = { v: 1, name: 'later', retries: 0, concurrency: 1, priority: 5, history: { keep: 10, maxAgeMs: 60_000 } };
    await publishJob(client, spec);
    await scheduler(env, 'w-sched');
    const runId = await enqueue(client, 'later', { x: 1 }, { delayMs: 700 });
    expect((await waitForRun(client, 'later', runId, () => true)).state).toBe('delayed');
    const rec = await waitForRun(client, 'later', runId, (r) => r.state === 'queued', { what: 'promoted by the scheduler' });
    expect(Date.now()).toBeGreaterThanOrEqual((rec.dueAt ?? 0) - 50);
  });

  it('picks up a cron job published after it started leading', async () => {
    const client = await env.client();
    await scheduler(env, 'w-sched');
    const spec: JobSpec = { v: 1, name: 'late-cron', schedule: '* * * * * *', retries: 0, concurrency: 1, priority: 5, history: { keep: 10, maxAgeMs: 60_000 } };
    await publishJob(client, spec);
    await until('a fire of the late job', async () => (await readFires(client, 'late-cron')).some((f) => f.kind === 'fired'), { timeoutMs: 15_000, intervalMs: 100 });
  });

  it('keeps fire records bounded: pruning leaves the newest', async () => {
    const client = await env.client();
    await client.ensurePath(layout.fires('pruned'));
    const times = Array.from({ length: 12 }, (_, i) => Date.UTC(2026, 0, 1) + i * 60_000);
    for (const t of times) await client.create(layout.fire('pruned', t), Buffer.from('{}'));
    expect(await pruneFires(client, 'pruned', 5)).toBe(7);
    const left = (await client.children(layout.fires('pruned'))).map(fireTimeOf).sort((a, b) => a - b);
    expect(left).toEqual(times.slice(7));
    expect(await pruneFires(client, 'pruned', 5)).toBe(0);
  });
});
