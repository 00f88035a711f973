/**
 * The framework's writes whose reply is lost after the server applied them
 * (a TCP proxy delivers the request and drops the reply): enqueue with and
 * without an explicit runId, a worker's claim and finish, cancel. The caller
 * is told the truth, nothing is doubled, nothing is lost — on both backends,
 * through the client's one mechanism (docs/adr/0009-write-witness.md).
 */
import { EventEmitter, once } from 'node:events';
import { expect, it } from 'vitest';
import { describeOnBackends } from '../helpers/backends.ts';
import { defineJob, type Job } from '../../shared/jobs/define-job.ts';
import { publishJob } from '../../shared/jobs/job-dirs.ts';
import { layout } from '../../shared/jobs/layout.ts';
import { cancelRun, getRun } from '../../shared/jobs/run-admin.ts';
import { finished, waitForRun } from './jobs-waits.ts';
import { startProxiedWorker } from '../helpers/proxied-worker.ts';

const MULTI = 14;
const bus = new EventEmitter();

const echo = defineJob<string, string>({ name: 'echo', run: (_ctx, s) => s });

const gated = defineJob<string, string>({
  name: 'gated',
  run: async (ctx, s) => {
    bus.emit('started', ctx.runId);
    await once(bus, `go-${ctx.runId}`);
    return `${s}!`;
  },
});

describeOnBackends('framework writes whose reply is lost', (env) => {
  async function runsOf(job: string): Promise<string[]> {
    const client = await env.client();
    return client.children(layout.runs(job));
  }

  it('enqueue, with a generated and with an explicit runId: resolves to the run it created, once', async () => {
    const { client, proxy } = await env.proxied({ sessionTimeoutMs: 6000 });
    await publishJob(client, echo.spec);
    await echo.enqueue(client, 'warm-up'); // job dirs made, so the next multi is the enqueue's own
    let lost = proxy.loseReplyTo(MULTI);
    const generated = await echo.enqueue(client, 'a');
    expect(await lost).toBe(0);
    lost = proxy.loseReplyTo(MULTI);
    const explicit = await echo.enqueue(client, 'b', { runId: 'r-explicit-1' });
    expect(await lost).toBe(0);
    expect(explicit).toBe('r-explicit-1');
    expect((await runsOf('echo')).sort()).toEqual([generated, 'r-explicit-1', expect.any(String)].sort());
    expect((await getRun(client, 'echo', generated))?.input).toBe('a');
    // A true duplicate is still refused.
    await expect(echo.enqueue(client, 'c', { runId: 'r-explicit-1' })).rejects.toMatchObject({ code: 'DROVER_DUPLICATE_RUN' });
  });

  it("a worker's finish: the run succeeds once with its result, and the worker is not told it was fenced", async () => {
    const producer = await env.client();
    const { worker: w, proxy, events } = await startProxiedWorker(env, [gated as unknown as Job]);
    const started = once(bus, 'started');
    const runId = await gated.enqueue(producer, 'x');
    expect((await started)[0]).toBe(runId);
    const lost = proxy.loseReplyTo(MULTI);
    bus.emit(`go-${runId}`);
    expect(await lost).toBe(0);
    const rec = await waitForRun(producer, 'gated', runId, finished);
    expect(rec).toMatchObject({ state: 'succeeded', result: 'x!', attempt: 1 });
    // The worker learnt the finish landed: one finish, no abandoned attempt.
    await new Promise<void>((resolve) => (events.some((e) => e.type === 'finished') ? resolve() : w.onEvent((e) => e.type === 'finished' && resolve())));
    expect(events.filter((e) => e.type === 'abandoned')).toEqual([]);
    expect(events.filter((e) => e.type === 'finished' && e.runId === runId)).toHaveLength(1);
  });

  /** A worker's claim multi (`match` picks which) loses its reply: the run is still claimed once and runs once. */
  async function claimedOnce(label: string, match?: (request: Buffer) => boolean): Promise<void> {
    const producer = await env.client();
    const { worker: w, proxy, events } = await startProxiedWorker(env, [gated as unknown as Job]);
    const waiting = new Promise<void>((resolve) => w.onEvent((e) => e.type === 'waiting' && e.reason === 'empty' && resolve()));
    await waiting;
    const lost = proxy.loseReplyTo(MULTI, match);
    const starts: string[] = [];
    bus.on('started', (id: string) => {
      starts.push(id);
      setImmediate(() => bus.emit(`go-${id}`));
    });
    try {
      const runId = await gated.enqueue(producer, label);
      expect(await lost).toBe(0);
      const rec = await waitForRun(producer, 'gated', runId, finished);
      expect(rec).toMatchObject({ state: 'succeeded', result: `${label}!`, attempt: 1 });
      expect(starts).toEqual([runId]);
      expect(events.filter((e) => e.type === 'claimed' && e.runId === runId)).toHaveLength(1);
    } finally {
      bus.removeAllListeners('started');
    }
  }

  it("a worker's claim (its reservation): the run is claimed once and runs once", async () => {
    await claimedOnce('y');
  });

  it("a worker's take (the claim multi after the reservation): the run is claimed once and runs once", async () => {
    // The take deletes the lane items it takes; the reservation only moves the head.
    await claimedOnce('t', (request) => request.includes('/items/i-'));
  });

  it('cancel of a queued run: answered as done, and the run is cancelled', async () => {
    const { client, proxy } = await env.proxied({ sessionTimeoutMs: 6000 });
    await publishJob(client, echo.spec);
    const runId = await echo.enqueue(client, 'z');
    const lost = proxy.loseReplyTo(MULTI);
    const outcome = await cancelRun(client, 'echo', runId);
    expect(await lost).toBe(0);
    expect(outcome).toBeTruthy();
    expect((await getRun(client, 'echo', runId))?.state).toBe('cancelled');
  });
});
