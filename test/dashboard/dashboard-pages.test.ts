/**
 * The dashboard's paged run listings, read from the cluster: a state's
 * listing is complete across jobs however many newer runs finished (the
 * live table keeps only the newest), pages follow cursors, a job's counts
 * come without listing (succeeded, failed and cancelled each exact, from
 * their own history directory) and match its tabs' pages (all finished
 * counts dead runs too), the listing without a state holds every run, dead
 * ones included, and a bad cursor is a 400.
 */
import { expect, it } from 'vitest';
import { startDashboard } from '../../dashboard/index.ts';
import { defineJob } from '../../shared/jobs/define-job.ts';
import { enqueueWith } from '../../shared/jobs/enqueue.ts';
import { publishJob } from '../../shared/jobs/job-dirs.ts';
import { cancelRun, pauseJob, resumeJob } from '../../shared/jobs/run-admin.ts';
import { waitForRun } from '../../shared/jobs/wait-for-run.ts';
import { NonRetryableError } from '../../shared/non-retryable-error.ts';
import { startWorker } from '../../worker/index.ts';
import { describeOnBackends } from '../helpers/backends.ts';

const refused = defineJob<number, number>({
  name: 'dp-refused',
  run: (_ctx, n) => {
    throw new NonRetryableError(`no ${n}`);
  },
});
const refusedToo = defineJob<number, number>({
  name: 'dp-refused-2',
  run: (_ctx, n) => {
    throw new NonRetryableError(`no ${n}`);
  },
});
const busy = defineJob<number, number>({ name: 'dp-busy', concurrency: 16, run: (_ctx, n) => n });
/** n % 4: 0 succeeds; 1 is refused at claim (validate: failed, not retried); 2 is refused for good (dead). */
const mixed = defineJob<number, number>({
  name: 'dp-mixed',
  concurrency: 4,
  retries: 1,
  validate: (input) => {
    if (typeof input !== 'number' || input % 4 === 1) throw new Error(`no ${String(input)}`);
    return input;
  },
  run: (_ctx, n) => {
    if (n % 4 === 2) throw new NonRetryableError(`no ${n}`);
    return n;
  },
});

interface Page {
  runs: { id: string; job: string; state: string; path: string }[];
  next: string | null;
}

describeOnBackends('dashboard: runs by page', (env) => {
  it('state=dead across all jobs lists every dead run, page by page, though 120 newer runs finished since', async () => {
    const client = await env.client();
    const { app } = await startDashboard({ client, connect: env.backend().connectString, port: 0, probeIntervalMs: 60_000 });
    env.defer(() => app.close());
    for (const j of [refused, refusedToo, busy]) await publishJob(client, j.spec);
    const worker = await startWorker({ client, jobs: [refused, refusedToo, busy], name: 'dp', schedule: false });
    env.defer(() => worker.close({ graceMs: 0 }));
    const dead = [...(await enqueueWith(client, 'dp-refused', [{ input: 1 }, { input: 2 }])).map((id) => ({ job: 'dp-refused', id })), ...(await enqueueWith(client, 'dp-refused-2', [{ input: 3 }])).map((id) => ({ job: 'dp-refused-2', id }))];
    for (const r of dead) expect((await waitForRun(client, r.job, r.id, { timeoutMs: 20_000 })).state).toBe('dead');
    const done = await enqueueWith(client, 'dp-busy', Array.from({ length: 120 }, (_, i) => ({ input: i })));
    for (const id of done) await waitForRun(client, 'dp-busy', id, { timeoutMs: 20_000 });

    const get = async (url: string): Promise<Page> => {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode, res.body).toBe(200);
      return res.json<Page>();
    };
    const listed: Page['runs'] = [];
    let next: string | null = null;
    do {
      const page: Page = await get(`/api/runs?state=dead&limit=2${next ? `&cursor=${next}` : ''}`);
      listed.push(...page.runs);
      next = page.next;
    } while (next !== null);
    expect(listed.map((r) => `${r.job}/${r.id}`).sort()).toEqual(dead.map((r) => `${r.job}/${r.id}`).sort());
    for (const r of listed) expect(r).toMatchObject({ state: 'dead', path: `/runs/${r.job}/${r.id}` });
    // Without a state too: a job whose runs all ended dead shows them (it used to answer no runs at all),
    // and across jobs the dead runs come before the 120 newer successes, on the first page.
    expect((await get('/api/runs?job=dp-refused')).runs.map((r) => r.id).sort()).toEqual(dead.filter((r) => r.job === 'dp-refused').map((r) => r.id).sort());
    const top = await get('/api/runs?limit=3');
    expect(top.runs.map((r) => `${r.job}/${r.id}`).sort()).toEqual(dead.map((r) => `${r.job}/${r.id}`).sort());
    expect(top.next).not.toBeNull();

    // One job's tab: succeeded runs, newest first, 50 a page.
    const first = await get('/api/jobs/dp-busy/runs?state=succeeded&limit=50');
    expect(first.runs).toHaveLength(50);
    const second = await get(`/api/jobs/dp-busy/runs?state=succeeded&limit=50&cursor=${first.next}`);
    const third = await get(`/api/jobs/dp-busy/runs?state=succeeded&limit=50&cursor=${second.next}`);
    expect(third.next).toBeNull();
    expect([...first.runs, ...second.runs, ...third.runs].map((r) => r.id).sort()).toEqual([...done].sort());

    const counts = await app.inject({ method: 'GET', url: '/api/jobs/dp-busy/counts' });
    expect(counts.json()).toMatchObject({ counts: { job: 'dp-busy', waiting: 0, active: 0, succeeded: 120, failed: 0, cancelled: 0, finished: 120, dead: 0 } });

    const bad = await app.inject({ method: 'GET', url: `/api/jobs/dp-busy/runs?state=dead&cursor=${first.next}` });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ error: { code: 'DROVER_INVALID_ARGUMENT' } });
  });

  it('each final state has its count and its pages: succeeded, failed, cancelled, dead, and all finished', { timeout: 60_000 }, async () => {
    const client = await env.client();
    const { app } = await startDashboard({ client, connect: env.backend().connectString, port: 0, probeIntervalMs: 60_000 });
    env.defer(() => app.close());
    await publishJob(client, mixed.spec);
    await pauseJob(client, 'dp-mixed');
    // n % 4: 0 succeeds, 1 is refused at claim (failed), 2 throws NonRetryableError (dead), 3 is cancelled while queued.
    const ids = await enqueueWith(client, 'dp-mixed', Array.from({ length: 15 }, (_, i) => ({ input: i })));
    const of = (k: number) => ids.filter((_, i) => i % 4 === k);
    for (const id of of(3)) expect(await cancelRun(client, 'dp-mixed', id)).toBe('cancelled');
    const worker = await startWorker({ client, jobs: [mixed], name: 'dp-mix', schedule: false });
    env.defer(() => worker.close({ graceMs: 0 }));
    await resumeJob(client, 'dp-mixed');
    for (const id of ids) await waitForRun(client, 'dp-mixed', id, { timeoutMs: 20_000 });

    const get = async (url: string): Promise<Page> => {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode, res.body).toBe(200);
      return res.json<Page>();
    };
    // A job the cluster does not know answers 404 on its reads, as on its actions.
    for (const url of ['/api/jobs/dp-nosuch/runs?state=dead', '/api/jobs/dp-nosuch/counts', '/api/jobs/dp-nosuch/stats']) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(404);
      expect(res.json<{ error: { code: string } }>().error.code).toBe('DROVER_UNKNOWN_JOB');
    }
    const counts = (await app.inject({ method: 'GET', url: '/api/jobs/dp-mixed/counts' })).json<{ counts: Record<string, unknown> }>().counts;
    expect(counts).toMatchObject({ waiting: 0, active: 0, delayed: 0, succeeded: 4, failed: 4, cancelled: 3, dead: 4, finished: 11 });
    const pages = async (state: string): Promise<Page['runs']> => {
      const runs: Page['runs'] = [];
      let next: string | null = null;
      do {
        const page: Page = await get(`/api/jobs/dp-mixed/runs?state=${state}&limit=2${next ? `&cursor=${next}` : ''}`);
        runs.push(...page.runs);
        next = page.next;
      } while (next !== null);
      return runs;
    };
    const want: [string, string[]][] = [
      ['succeeded', of(0)],
      ['failed', of(1)],
      ['dead', of(2)],
      ['cancelled', of(3)],
      // All finished is every run that ended: dead ones too (listed first, then history newest first).
      ['finished', [...of(0), ...of(1), ...of(2), ...of(3)]],
      ['all', ids],
    ];
    for (const [state, expected] of want) {
      const runs = await pages(state);
      expect(runs.map((r) => r.id).sort(), state).toEqual([...expected].sort());
      if (state !== 'finished' && state !== 'all') for (const r of runs) expect(r.state).toBe(state);
      // Each tab's count is the number its pages list (runs of their own: one record each); the job
      // page's "all finished" tab counts history (`finished`) and dead.
      const count = state === 'finished' ? (counts.finished as number) + (counts.dead as number) : state === 'all' ? ids.length : counts[state];
      expect(runs.length, state).toBe(count);
    }

    // Without a state, /api/runs lists every run, dead ones included, a page at a time (one job, or
    // every job): each once, none left out.
    const unfiltered = async (query: string): Promise<Page['runs']> => {
      const runs: Page['runs'] = [];
      let next: string | null = null;
      do {
        const page: Page = await get(`/api/runs?limit=3${query}${next ? `&cursor=${next}` : ''}`);
        expect(page.runs.length).toBeLessThanOrEqual(3);
        runs.push(...page.runs);
        next = page.next;
      } while (next !== null);
      return runs;
    };
    for (const query of ['&job=dp-mixed', '']) {
      const runs = (await unfiltered(query)).filter((r) => r.job === 'dp-mixed');
      const listed = runs.map((r) => r.id);
      expect(new Set(listed).size, query).toBe(listed.length);
      expect([...listed].sort(), query).toEqual([...ids].sort());
      // Dead first (their own section: dead entries are named by run id, not by time), then history newest first.
      expect(runs.slice(0, of(2).length).map((r) => r.state), query).toEqual(of(2).map(() => 'dead'));
      expect(runs.slice(of(2).length).some((r) => r.state === 'dead'), query).toBe(false);
    }

    // Stats name what they count as the tabs do: failed and dead apart, failures both.
    const stats = (await app.inject({ method: 'GET', url: '/api/jobs/dp-mixed/stats' })).json<{ outcomes: Record<string, number>; failureRate: number; series: { finished: number; failures: number }[] }>();
    expect(stats.outcomes).toEqual({ succeeded: 4, failed: 4, dead: 4, cancelled: 3 });
    expect(stats.failureRate).toBeCloseTo(8 / 12, 10);
    expect(stats.series.reduce((n, b) => n + b.failures, 0)).toBe(8);
  });
});
