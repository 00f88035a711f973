/**
 * The dashboard's paged run listings, read from the cluster: a state's
 * listing is complete across jobs however many newer runs finished (the
 * live table keeps only the newest), pages follow cursors, a job's counts
 * come without listing, and a bad cursor is a 400.
 */
import { expect, it } from 'vitest';
import { startDashboard } from '../../dashboard/index.ts';
import { defineJob } from '../../shared/jobs/define-job.ts';
import { enqueueWith } from '../../shared/jobs/enqueue.ts';
import { publishJob } from '../../shared/jobs/job-dirs.ts';
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

    // One job's tab: succeeded runs, newest first, 50 a page.
    const first = await get('/api/jobs/dp-busy/runs?state=succeeded&limit=50');
    expect(first.runs).toHaveLength(50);
    const second = await get(`/api/jobs/dp-busy/runs?state=succeeded&limit=50&cursor=${first.next}`);
    const third = await get(`/api/jobs/dp-busy/runs?state=succeeded&limit=50&cursor=${second.next}`);
    expect(third.next).toBeNull();
    expect([...first.runs, ...second.runs, ...third.runs].map((r) => r.id).sort()).toEqual([...done].sort());

    const counts = await app.inject({ method: 'GET', url: '/api/jobs/dp-busy/counts' });
    expect(counts.json()).toMatchObject({ counts: { job: 'dp-busy', waiting: 0, active: 0, finished: 120, dead: 0 } });

    const bad = await app.inject({ method: 'GET', url: `/api/jobs/dp-busy/runs?state=dead&cursor=${first.next}` });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ error: { code: 'DROVER_INVALID_ARGUMENT' } });
  });
});
