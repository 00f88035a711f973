/**
 * The scheduler on real servers: an every-second cron keeps firing across
 * scheduler failovers (a cut-off leader whose session expires, a leader
 * that closes) with exactly one run per fire time and no gap; and after a
 * downtime longer than the misfire grace, `skip` records the missed times
 * and fires none of them while `fire-once` fires the latest one. The
 * downtime is played by the next scheduler's clock running ahead: fire
 * times come only from the scheduler's own clock and the stored cursor.
 */
import { expect, it } from 'vitest';
import type { Coordination } from '../../shared/client/coordination.ts';
import type { JobSpec, MisfirePolicy, RunRecord, ScheduleState } from '../../shared/jobs/job-types.ts';
import { publishJob } from '../../shared/jobs/job-dirs.ts';
import { layout } from '../../shared/jobs/layout.ts';
import { pino } from 'pino';
import { silentLogger } from '../../shared/log.ts';
import { readFires, type FireRecord } from '../../worker/scheduler/schedule-store.ts';
import { readSchedulerState, startSchedulerCandidate, type SchedulerCandidate } from '../../worker/scheduler/scheduler.ts';
import { describeOnBackends, until, type BackendEnv } from '../helpers/backends.ts';

const JOB = 'tick';

function spec(misfire: MisfirePolicy): JobSpec {
  return {
    v: 1,
    name: JOB,
    schedule: '* * * * * *',
    timezone: 'UTC',
    misfire,
    scheduleInput: { hello: 'cron' },
    retries: 0,
    concurrency: 1,
    priority: 5,
    history: { keep: 1000, maxAgeMs: 3600_000 },
  };
}

type Fired = Extract<FireRecord, { kind: 'fired' }>;
type Skipped = Extract<FireRecord, { kind: 'skipped' }>;

async function candidate(env: BackendEnv, client: Coordination, workerId: string, extra: { now?: () => number; misfireGraceMs?: number } = {}): Promise<SchedulerCandidate> {
  const c = await startSchedulerCandidate({ client, workerId, logger: process.env['DROVER_TEST_LOG'] ? pino({ level: 'debug' }) : silentLogger, jobs: () => [], ...extra });
  env.defer(() => c.close());
  return c;
}

/** Waits until `worker` has fired at least n times. */
async function firedBy(observer: Coordination, worker: string, n: number): Promise<void> {
  await until(`${n} fires by ${worker}`, async () => (await readFires(observer, JOB)).filter((f) => f.kind === 'fired' && f.by === worker).length >= n, {
    timeoutMs: 30_000,
    intervalMs: 200,
  });
}

/** Every run of the job by its fire time; fails on a fire time with two runs. */
async function runsByFireTime(observer: Coordination): Promise<Map<number, RunRecord>> {
  const out = new Map<number, RunRecord>();
  for (const id of await observer.children(layout.runs(JOB))) {
    const rec = JSON.parse((await observer.get(layout.run(JOB, id))).data.toString()) as RunRecord;
    expect(rec.fireTime, `run ${id} has a fire time`).toBeTypeOf('number');
    expect(out.has(rec.fireTime as number), `a second run for fire time ${rec.fireTime}`).toBe(false);
    out.set(rec.fireTime as number, rec);
  }
  return out;
}

describeOnBackends('scheduler: failover and misfires', (env) => {
  it('cron fires exactly once per second across a cut-off leader (which returns to the back of the line) and a closed one', async () => {
    const observer = await env.client();
    await publishJob(observer, spec('skip'));
    const { client: aClient, proxy } = await env.proxied({ sessionTimeoutMs: 2000 });
    const a = await candidate(env, aClient, 'w-a');
    await a.whenLeading();
    const bClient = await env.client({ sessionTimeoutMs: 4000 });
    const b = await candidate(env, bClient, 'w-b');
    const cClient = await env.client({ sessionTimeoutMs: 4000 });
    const c = await candidate(env, cClient, 'w-c');
    expect(b.leading || c.leading).toBe(false);
    await firedBy(observer, 'w-a', 2);

    // A is cut off: it steps down on SUSPENDED; B leads once A's session has expired.
    const cutAt = Date.now();
    proxy.cut();
    await until('a steps down', () => !a.leading, { timeoutMs: 10_000 });
    await b.whenLeading();
    // Within A's 2 s session timeout plus the server's expiry tick; the slack is for a loaded machine.
    expect(Date.now() - cutAt).toBeLessThan(2000 + 10_000);
    expect((await readSchedulerState(observer))?.leader).toBe('w-b');
    expect((await readSchedulerState(observer))?.reason).toContain('took over from w-a');
    await firedBy(observer, 'w-b', 2);
    // A's network heals: its session is gone, so it re-enters the election at the back of the line.
    proxy.restore();
    await until('a is a candidate again', async () => (await observer.children(layout.scheduler)).filter((n) => n.startsWith('c-')).length === 3, { timeoutMs: 20_000 });

    // B closes (a worker shutting down): C is next in line, not the returned A.
    await b.close();
    await c.whenLeading();
    expect(a.leading).toBe(false);
    await firedBy(observer, 'w-c', 2);
    expect(a.leading).toBe(false);
    await c.close();
    await a.close();

    const fires = await readFires(observer, JOB);
    const fired = fires.filter((f): f is Fired => f.kind === 'fired');
    expect(fires.filter((f) => f.kind === 'skipped')).toEqual([]);
    for (let i = 1; i < fired.length; i++) {
      const gap = (fired[i] as Fired).fireTime - (fired[i - 1] as Fired).fireTime;
      expect(gap, `fire ${i} follows the previous second`).toBe(1000);
    }
    expect(new Set(fired.map((f) => f.by))).toEqual(new Set(['w-a', 'w-b', 'w-c']));
    const runs = await runsByFireTime(observer);
    expect(runs.size).toBe(fired.length);
    for (const f of fired) {
      expect(runs.get(f.fireTime)?.id).toBe(f.runId);
      expect(runs.get(f.fireTime)?.input).toEqual({ hello: 'cron' });
    }
    const state = JSON.parse((await observer.get(layout.schedule(JOB))).data.toString()) as ScheduleState;
    expect(state.lastFireTime).toBe(fired[fired.length - 1]?.fireTime);
  }, 90_000);

  for (const policy of ['skip', 'fire-once'] as const) {
    it(`misfire ${policy}: after a downtime past the grace`, async () => {
      const observer = await env.client();
      await publishJob(observer, spec(policy));
      const a = await candidate(env, await env.client(), 'w-a', { misfireGraceMs: 2000 });
      await a.whenLeading();
      await firedBy(observer, 'w-a', 2);
      await a.close();
      const lastByA = Math.max(...(await readFires(observer, JOB)).map((f) => (f.kind === 'fired' ? f.fireTime : 0)));

      // B's clock is 10 s ahead: to B, the schedule missed ~10 fire times, ~8 of them past the grace.
      const b = await candidate(env, await env.client(), 'w-b', { misfireGraceMs: 2000, now: () => Date.now() + 10_000 });
      await b.whenLeading();
      await firedBy(observer, 'w-b', 2);
      await b.close();

      const fires = await readFires(observer, JOB);
      const skips = fires.filter((f): f is Skipped => f.kind === 'skipped');
      const fired = fires.filter((f): f is Fired => f.kind === 'fired');
      expect(skips.length).toBe(1);
      const skip = skips[0] as Skipped;
      expect(skip.by).toBe('w-b');
      expect(skip.from).toBe(lastByA + 1000);
      expect(skip.count).toBe((skip.to - skip.from) / 1000 + 1);
      expect(skip.count).toBeGreaterThanOrEqual(5);
      // Nothing inside the skipped range fired.
      expect(fired.filter((f) => f.fireTime >= skip.from && f.fireTime <= skip.to)).toEqual([]);
      // Every second from the first fire to the last is fired or skipped, none twice.
      const covered = new Set<number>();
      for (const f of fired) covered.add(f.fireTime);
      for (let t = skip.from; t <= skip.to; t += 1000) covered.add(t);
      const first = fired[0]?.fireTime as number;
      const last = fired[fired.length - 1]?.fireTime as number;
      expect(covered.size).toBe((last - first) / 1000 + 1);
      const afterSkip = fired.find((f) => f.fireTime > skip.to) as Fired;
      expect(afterSkip.fireTime).toBe(skip.to + 1000);
      if (policy === 'fire-once') {
        // The latest misfired time (older than the grace) is the one that fired.
        expect(afterSkip.fireTime).toBeLessThanOrEqual(afterSkip.at - 2000);
        // and only that one: the next fired time was within the grace when planned (plus the fire's own write time).
        const next = fired.find((f) => f.fireTime > afterSkip.fireTime) as Fired;
        expect(next.at - next.fireTime).toBeLessThanOrEqual(2000 + 1000);
      } else {
        // Skip fires nothing that was past the grace when decided.
        expect(afterSkip.at - afterSkip.fireTime).toBeLessThanOrEqual(2000 + 1000);
      }
      const state = JSON.parse((await observer.get(layout.schedule(JOB))).data.toString()) as ScheduleState;
      expect(state.lastSkip?.count).toBe(skip.count);
      const runs = await runsByFireTime(observer);
      expect(runs.size).toBe(fired.length);
    }, 60_000);
  }
});
