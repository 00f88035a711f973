/**
 * The worker through its connection states on both backends, via a TCP
 * proxy the test cuts: SUSPENDED keeps the attempt (the lease may still be
 * ours) and claims nothing until RECONNECTED; LOST aborts the attempt
 * without writing, and the worker registers again on its new session and
 * goes on claiming (it runs the re-queued attempt itself).
 */
import { inflightNameOf } from '../helpers/claim-lease.ts';
import { EventEmitter } from 'node:events';
import { expect, it } from 'vitest';
import { describeOnBackends, nextEvent } from '../helpers/backends.ts';
import { defineJob } from '../../shared/jobs/define-job.ts';
import { enqueue } from '../../shared/jobs/enqueue.ts';
import { publishJob } from '../../shared/jobs/job-dirs.ts';
import { layout } from '../../shared/jobs/layout.ts';
import { requeueOrphans } from '../../shared/jobs/recovery.ts';
import { startWorker } from '../../worker/runtime.ts';
import type { WorkerEvent } from '../../worker/worker-events.ts';
import { finished, waitForRun } from './jobs-waits.ts';

const bus = new EventEmitter();

const held = defineJob<string, string>({
  name: 'held',
  concurrency: 2,
  run: (ctx, label) =>
    new Promise((resolve, reject) => {
      bus.emit('started', { label, attempt: ctx.attempt });
      ctx.signal.addEventListener('abort', () => {
        bus.emit('aborted', { label, code: (ctx.signal.reason as { code?: string }).code });
        reject(ctx.signal.reason as Error);
      });
      if (ctx.attempt > 1) resolve(`${label} on attempt ${ctx.attempt}`);
      bus.once(`release-${label}`, () => resolve(label));
    }),
});

describeOnBackends('worker: connection states', (env) => {
  async function setup() {
    const observer = await env.client();
    await publishJob(observer, held.spec);
    const { client, proxy } = await env.proxied({ sessionTimeoutMs: 2_000 });
    const worker = await startWorker({ client, jobs: [held], schedule: false });
    env.defer(() => worker.close({ graceMs: 200 }));
    const events: WorkerEvent[] = [];
    worker.onEvent((e) => events.push(e));
    return { observer, client, proxy, worker, events };
  }

  it('SUSPENDED: the running attempt is kept, nothing is claimed until RECONNECTED', async () => {
    const { observer, proxy, worker, events } = await setup();
    const started = nextEvent('r1 started', (d) => bus.once('started', d));
    const r1 = await enqueue(observer, 'held', 'r1');
    await started;
    const suspended = nextEvent('SUSPENDED', (d) => worker.onEvent((e) => e.type === 'state' && e.state === 'SUSPENDED' && d(e)));
    proxy.cut();
    await suspended;
    const r2 = await enqueue(observer, 'held', 'r2');
    const back = nextEvent<WorkerEvent>('RECONNECTED', (d) => worker.onEvent((e) => e.type === 'state' && e.state === 'RECONNECTED' && d(e)));
    proxy.restore();
    expect(await back).toMatchObject({ sessionChanged: false });
    const r2Started = nextEvent('r2 started', (d) => bus.once('started', d));
    bus.emit('release-r1');
    expect((await waitForRun(observer, 'held', r1, finished)).state).toBe('succeeded');
    await r2Started;
    bus.emit('release-r2');
    expect((await waitForRun(observer, 'held', r2, finished)).state).toBe('succeeded');
    const order = events.filter((e) => (e.type === 'claimed' && e.runId === r2) || e.type === 'state').map((e) => (e.type === 'claimed' ? 'claim r2' : e.type === 'state' ? e.state : ''));
    expect(order).toEqual(['SUSPENDED', 'RECONNECTED', 'claim r2']);
  });

  it('LOST: the attempt aborts without writing; the worker re-registers and runs the re-queued run', async () => {
    const { observer, client, proxy, worker, events } = await setup();
    const firstId = worker.id;
    const started = nextEvent('r1 started', (d) => bus.once('started', d));
    const r1 = await enqueue(observer, 'held', 'lost-1');
    await started;
    const aborted = nextEvent<{ code: string }>('abort', (d) => bus.once('aborted', d));
    const lost = nextEvent('LOST', (d) => worker.onEvent((e) => e.type === 'state' && e.state === 'LOST' && d(e)));
    proxy.cut();
    await lost;
    expect((await aborted).code).toBe('DROVER_SESSION_LOST');
    const registered = nextEvent<WorkerEvent>('registered again', (d) => worker.onEvent((e) => e.type === 'registered' && d(e)));
    proxy.restore();
    await registered;
    expect(worker.id).not.toBe(firstId);
    // Read through the worker's own session: it sees its own write; another member may lag.
    expect((await client.exists(layout.worker(worker.id)))?.ephemeralOwner).toBe(client.sessionId);
    // Nothing was written for the aborted attempt: the record still says attempt 1 was running.
    const stale = await waitForRun(observer, 'held', r1, () => true);
    expect(stale.state).toBe('active');
    expect(stale.worker).toBe(firstId);
    expect(events.some((e) => e.type === 'abandoned' && e.runId === r1 && e.code === 'DROVER_SESSION_LOST')).toBe(true);
    // Once the old session is gone its lease is too; the re-queue hands the run to the new session.
    const claim = (await inflightNameOf(observer, 'held', r1)) ?? r1;
    let report = await requeueOrphans(observer, 'held');
    while (report.requeued.length === 0) {
      await nextEvent('the old lease to go', async (d) => {
        if (!(await observer.exists(layout.lease('held', claim), () => d(undefined)))) d(undefined);
      });
      report = await requeueOrphans(observer, 'held');
    }
    const done = await waitForRun(observer, 'held', r1, finished);
    expect(done.state).toBe('succeeded');
    expect(done.result).toBe('lost-1 on attempt 2');
    expect(done.worker).toBe(worker.id);
  });
});
