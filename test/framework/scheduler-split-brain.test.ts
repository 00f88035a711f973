/**
 * Exactly once without relying on leadership: two cron drivers that both
 * believe they lead (a deposed leader that has not noticed yet, on its own
 * session) fire the same every-second schedule at once. The fire record and
 * the compare-and-set on the schedule state in each fire's multi must still
 * give one run per fire time and no gap.
 */
import { expect, it } from 'vitest';
import { publishJob } from '../../shared/jobs/job-dirs.ts';
import type { JobSpec, RunRecord } from '../../shared/jobs/job-types.ts';
import { layout } from '../../shared/jobs/layout.ts';
import { silentLogger } from '../../shared/log.ts';
import { CronDriver } from '../../worker/scheduler/cron-driver.ts';
import { readFires, type FireRecord } from '../../worker/scheduler/schedule-store.ts';
import { describeOnBackends, until } from '../helpers/backends.ts';

const spec: JobSpec = {
  v: 1,
  name: 'both',
  schedule: '* * * * * *',
  misfire: 'skip',
  retries: 0,
  concurrency: 1,
  priority: 5,
  history: { keep: 100, maxAgeMs: 60_000 },
};

type Fired = Extract<FireRecord, { kind: 'fired' }>;

describeOnBackends('scheduler: two drivers at once', (env) => {
  it('one run per fire time even when two schedulers fire the same schedule concurrently', async () => {
    const observer = await env.client();
    await publishJob(observer, spec);
    const drivers = await Promise.all(
      ['w-old', 'w-new'].map(async (workerId) => {
        const d = new CronDriver({ client: await env.client(), workerId, logger: silentLogger, misfireGraceMs: 60_000, now: Date.now });
        env.defer(() => d.stop());
        return d;
      }),
    );
    for (const d of drivers) d.update([spec]);
    await until('four fires', async () => (await readFires(observer, 'both')).length >= 4, { timeoutMs: 20_000, intervalMs: 200 });
    for (const d of drivers) d.stop();

    const fired = (await readFires(observer, 'both')).filter((f): f is Fired => f.kind === 'fired');
    for (let i = 1; i < fired.length; i++) expect((fired[i] as Fired).fireTime - (fired[i - 1] as Fired).fireTime).toBe(1000);
    const runs: RunRecord[] = [];
    for (const id of await observer.children(layout.runs('both'))) runs.push(JSON.parse((await observer.get(layout.run('both', id))).data.toString()) as RunRecord);
    const times = runs.map((r) => r.fireTime).sort();
    // A fire whose multi is still in flight when we stopped may add one more run; none may be doubled.
    expect(new Set(times).size).toBe(times.length);
    for (const f of fired) expect(runs.find((r) => r.fireTime === f.fireTime)?.id).toBe(f.runId);
  });
});
