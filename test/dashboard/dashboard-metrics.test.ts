/**
 * GET /metrics on the dashboard, read by a strict Prometheus text parser:
 * per-job run counts by state (finished ones by final state: succeeded,
 * failed and cancelled, each from its history directory), rates, the run duration histogram fed as
 * runs finish, the worker count and the ensemble's health from the probe.
 * It is an ordinary route: the loopback host check and the token apply.
 */
import { EventEmitter, once } from 'node:events';
import { expect, it } from 'vitest';
import { buildDashboard } from '../../dashboard/index.ts';
import { defineJob } from '../../shared/jobs/define-job.ts';
import { enqueue } from '../../shared/jobs/enqueue.ts';
import { publishJob } from '../../shared/jobs/job-dirs.ts';
import { cancelRun } from '../../shared/jobs/run-admin.ts';
import { startWorker } from '../../worker/runtime.ts';
import { describeOnBackends, until } from '../helpers/backends.ts';
import { parsePrometheusText, sampleValue, type MetricFamily } from '../helpers/prometheus-text.ts';
import { waitForRun } from '../framework/jobs-waits.ts';

const bus = new EventEmitter();
bus.setMaxListeners(20);
/** Set once a negative input is queued: its claim then refuses it, a permanent failure (failed, not dead). */
let refuseNegative = false;
/** Runs until the test lets them go, so the dashboard sees them leased (it watches leased runs to see them finish). */
const metered = defineJob<number, number>({
  name: 'metered',
  concurrency: 3,
  validate: (n) => {
    if (refuseNegative && (n as number) < 0) throw new Error('negative');
    return n as number;
  },
  run: async (_ctx, n) => {
    await once(bus, 'go');
    return n;
  },
});
const parked = defineJob<null, null>({ name: 'parked', run: () => null });

describeOnBackends('dashboard /metrics', (env) => {
  it('serves run counts, rates, durations, workers and ensemble health in Prometheus text', async () => {
    const client = await env.client();
    const app = await buildDashboard({ client, connect: env.backend().connectString, probeIntervalMs: 200, loopbackOnly: true, token: 'metrics-token' });
    env.defer(() => app.close());
    const scrape = async (): Promise<Map<string, MetricFamily>> => {
      const res = await app.inject({ method: 'GET', url: '/metrics', headers: { host: '127.0.0.1:7070', authorization: 'Bearer metrics-token' } });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
      return parsePrometheusText(res.body);
    };
    const value = (m: Map<string, MetricFamily>, name: string, labels: Record<string, string> = {}): number | undefined => {
      try {
        return sampleValue(m, name, labels);
      } catch {
        return undefined;
      }
    };

    // Rates count from the dashboard's first sample on (that one only learns where things stand).
    await until('a first metrics sample', async () => {
      const res = await app.inject({ method: 'GET', url: '/api/metrics', headers: { host: '127.0.0.1:7070', authorization: 'Bearer metrics-token' } });
      return (res.json() as { samples: unknown[] }).samples.length > 0;
    });
    // One worker runs `metered`; nobody runs `parked`, whose runs wait.
    await publishJob(client, parked.spec);
    const worker = await startWorker({ connect: env.backend().connectString, root: env.root(), jobs: [metered], schedule: false, sessionTimeoutMs: 4_000 });
    env.defer(() => worker.close({ graceMs: 500 }));
    await until('both jobs counted', async () => {
      const now = await scrape();
      return value(now, 'drover_job_runs', { job: 'metered', state: 'queued' }) === 0 && value(now, 'drover_job_runs', { job: 'parked', state: 'queued' }) === 0;
    });
    const enqueuedAt = Date.now();
    const runs = [];
    for (let n = 0; n < 3; n++) runs.push(await enqueue(client, metered, n));
    for (let n = 0; n < 2; n++) await enqueue(client, parked, null);
    await until('three runs leased', async () => value(await scrape(), 'drover_job_runs_leased', { job: 'metered' }) === 3);
    // Behind them, with every slot taken: one run its claim will refuse (failed), one cancelled while it waits.
    const refused = await enqueue(client, metered, -1);
    refuseNegative = true;
    env.defer(() => {
      refuseNegative = false;
    });
    const dropped = await enqueue(client, metered, 99);
    expect(await cancelRun(client, 'metered', dropped)).toBe('cancelled');
    await new Promise((r) => setTimeout(r, 50)); // so each run takes at least this long
    bus.emit('go');
    for (const id of runs) await waitForRun(client, 'metered', id, (r) => r.state === 'succeeded');
    expect((await waitForRun(client, 'metered', refused, (r) => r.state === 'failed')).error?.code).toBe('DROVER_INVALID_PAYLOAD');
    const elapsed = (Date.now() - enqueuedAt) / 1000;

    const members = env.backend().members.length;
    const m = await until('the metrics to show the runs, the worker and the ensemble', async () => {
      const now = await scrape();
      const ready =
        value(now, 'drover_job_runs', { job: 'metered', state: 'succeeded' }) === 3 &&
        value(now, 'drover_job_runs', { job: 'metered', state: 'failed' }) === 1 &&
        value(now, 'drover_job_runs', { job: 'metered', state: 'cancelled' }) === 1 &&
        value(now, 'drover_job_runs', { job: 'metered', state: 'queued' }) === 0 &&
        value(now, 'drover_job_runs', { job: 'parked', state: 'queued' }) === 2 &&
        value(now, 'drover_run_duration_seconds_count', { job: 'metered', state: 'succeeded' }) === 3 &&
        (value(now, 'drover_job_finished_per_minute', { job: 'metered' }) ?? 0) > 0 &&
        value(now, 'drover_workers') === 1 &&
        value(now, 'drover_ensemble_members_up') === members;
      return ready ? now : null;
    });

    // Every state of every job, disjoint; nothing else waiting or running now.
    for (const state of ['queued', 'delayed', 'inflight', 'dead']) expect(sampleValue(m, 'drover_job_runs', { job: 'metered', state }), state).toBe(0);
    for (const state of ['delayed', 'inflight', 'succeeded', 'failed', 'cancelled', 'dead']) expect(sampleValue(m, 'drover_job_runs', { job: 'parked', state }), state).toBe(0);
    expect(m.get('drover_job_runs')?.type).toBe('gauge');
    // Finished runs by final state only: no `finished` series (their sum) to count them twice in a sum over state.
    const states = (job: string) => (m.get('drover_job_runs')?.samples ?? []).filter((s) => s.labels['job'] === job).map((s) => s.labels['state']).sort();
    expect(states('metered')).toEqual(['cancelled', 'dead', 'delayed', 'failed', 'inflight', 'queued', 'succeeded']);
    expect((m.get('drover_job_runs')?.samples ?? []).filter((s) => s.labels['job'] === 'metered').reduce((n, s) => n + s.value, 0)).toBe(5);
    expect(sampleValue(m, 'drover_job_runs_leased', { job: 'metered' })).toBe(0);
    expect(sampleValue(m, 'drover_job_paused', { job: 'parked' })).toBe(0);
    expect(sampleValue(m, 'drover_job_enqueued_per_minute', { job: 'metered' })).toBeGreaterThan(0);

    // Durations: each run was held 50 ms or more, and ended once let go.
    expect(m.get('drover_run_duration_seconds')?.type).toBe('histogram');
    expect(sampleValue(m, 'drover_run_duration_seconds_sum', { job: 'metered', state: 'succeeded' })).toBeGreaterThanOrEqual(3 * 0.05);
    expect(sampleValue(m, 'drover_run_duration_seconds_bucket', { job: 'metered', state: 'succeeded', le: '0.01' })).toBe(0);
    expect(sampleValue(m, 'drover_run_duration_seconds_bucket', { job: 'metered', state: 'succeeded', le: '60' })).toBe(3);
    expect(sampleValue(m, 'drover_run_duration_seconds_sum', { job: 'metered', state: 'succeeded' })).toBeLessThanOrEqual(3 * elapsed + 0.01);

    expect(sampleValue(m, 'drover_worker_capacity')).toBe(3);
    expect(sampleValue(m, 'drover_workers_draining')).toBe(0);

    // The ensemble as the probe saw it: every member up, one leader (or a standalone server).
    expect(sampleValue(m, 'drover_ensemble_members')).toBe(members);
    expect(sampleValue(m, 'drover_ensemble_leader_present')).toBe(1);
    const modes = m.get('drover_ensemble_member_mode')?.samples.filter((s) => s.value === 1).map((s) => s.labels['mode']) ?? [];
    expect(modes).toHaveLength(members);
    if (env.backend().name === 'drover') {
      expect(modes.sort()).toEqual(['follower', 'follower', 'leader']);
      expect(sampleValue(m, 'drover_ensemble_synced_followers')).toBe(2);
    }
    for (const { host, port } of env.backend().members) {
      expect(sampleValue(m, 'drover_ensemble_member_up', { member: `${host}:${port}` })).toBe(1);
      expect(sampleValue(m, 'drover_ensemble_member_probe_seconds', { member: `${host}:${port}` })).toBeGreaterThan(0);
    }

    // The same hooks as /api/*: the token is needed (a scraper sends it), and a foreign Host is refused on loopback.
    const anonymous = await app.inject({ method: 'GET', url: '/metrics', headers: { host: '127.0.0.1:7070' } });
    expect(anonymous.statusCode).toBe(401);
    const rebound = await app.inject({ method: 'GET', url: '/metrics', headers: { host: 'evil.example:7070', authorization: 'Bearer metrics-token' } });
    expect(rebound.statusCode).toBe(401);
  });

  it('keeps a registry per dashboard: two in one process do not collide', async () => {
    const client = await env.client();
    const one = await buildDashboard({ client, connect: env.backend().connectString });
    env.defer(() => one.close());
    const two = await buildDashboard({ client, connect: env.backend().connectString });
    env.defer(() => two.close());
    for (const app of [one, two]) {
      const res = await app.inject({ method: 'GET', url: '/metrics' });
      expect(res.statusCode).toBe(200);
      expect(parsePrometheusText(res.body).has('drover_workers')).toBe(true);
    }
  });
});
