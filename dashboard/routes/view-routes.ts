/** GET routes over the live model: what each view of the UI shows. */
import type { FastifyInstance } from 'fastify';
import type { Coordination } from '../../shared/client/coordination.ts';
import { recordPathOf } from '../../shared/jobs/run-lookup.ts';
import type { LiveState } from '../live/live-state.ts';
import { getRun } from '../../shared/jobs/run-admin.ts';
import { jobCounts, jobNames } from '../../shared/jobs/job-counts.ts';
import { listRunPage, listRunPageAcrossJobs, PAGE_LIMIT_MAX, PAGE_STATES, pageStateOf, type PageState } from '../../shared/jobs/run-pages.ts';
import { jobStats } from '../../shared/jobs/job-stats.ts';
import { findRun } from '../../shared/jobs/run-search.ts';
import { cursor, jobName, jobParams, runId, runParams } from './schemas.ts';
import { assertJobPresent } from '../job-actions.ts';

export function installViewRoutes(app: FastifyInstance, live: LiveState, client: Coordination): void {
  app.get('/api/health', async () => ({ ok: true, state: client.state, nodes: live.size }));
  app.get('/api/overview', async () => live.snapshot());
  app.get('/api/ensemble', async () => ({ members: await live.probeEnsemble() }));
  app.get('/api/workers', async () => ({ workers: live.view().workers }));
  app.get('/api/queues', async () => ({ queues: live.view().queues }));
  app.get('/api/schedules', async () => ({ schedules: live.view().schedules }));
  app.get('/api/partitions', async () => ({ partitions: live.view().partitions }));
  app.get('/api/barriers', async () => ({ barriers: live.view().barriers }));
  app.get('/api/scheduler', async () => live.view().scheduler);
  app.get('/api/metrics', async () => ({ samples: live.metricsSeries() }));

  // A state's runs, complete and a page at a time (one job, or every job), read from the cluster. Without a
  // state: every run (state 'all': active, waiting, delayed, then dead, then history newest first; see
  // shared/jobs/run-pages.ts), so no failure is left out. 'waiting-barrier' is the live table's.
  app.get<{ Querystring: { job?: string; state?: string; limit?: number; cursor?: string } }>(
    '/api/runs',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { job: jobName, state: { type: 'string', enum: [...PAGE_STATES, 'queued', 'waiting-barrier'] }, limit: { type: 'integer', minimum: 1, maximum: PAGE_LIMIT_MAX }, cursor },
        },
      },
    },
    async (request) => {
      const { job, state, limit, cursor: at } = request.query;
      if (state === 'waiting-barrier') {
        const runs = live.view().runs.filter((r) => (!job || r.job === job) && r.state === state);
        return { runs: runs.slice(0, limit ?? 200), next: null };
      }
      const opts = { state: pageStateOf(state ?? 'all'), ...(limit !== undefined ? { limit } : {}), ...(at !== undefined ? { cursor: at } : {}) };
      const page = job ? await listRunPage(client, job, opts) : await listRunPageAcrossJobs(client, await jobNames(client), opts);
      return { runs: page.runs.map((r) => ({ ...r, path: recordPathOf(r.job, r.id) })), next: page.next };
    },
  );

  // A job's runs in one state, a page at a time; its counts from O(1) sources.
  app.get<{ Params: { job: string }; Querystring: { state: PageState | 'queued'; limit?: number; cursor?: string } }>(
    '/api/jobs/:job/runs',
    {
      schema: {
        params: jobParams,
        querystring: {
          type: 'object',
          required: ['state'],
          additionalProperties: false,
          properties: { state: { type: 'string', enum: [...PAGE_STATES, 'queued'] }, limit: { type: 'integer', minimum: 1, maximum: PAGE_LIMIT_MAX }, cursor },
        },
      },
    },
    async (request) => {
      const { state, limit, cursor: at } = request.query;
      await assertJobPresent(client, request.params.job);
      const page = await listRunPage(client, request.params.job, { state: pageStateOf(state), ...(limit !== undefined ? { limit } : {}), ...(at !== undefined ? { cursor: at } : {}) });
      return { runs: page.runs.map((r) => ({ ...r, path: recordPathOf(r.job, r.id) })), next: page.next };
    },
  );
  app.get<{ Params: { job: string } }>('/api/jobs/:job/counts', { schema: { params: jobParams } }, async (request) => {
    await assertJobPresent(client, request.params.job);
    return { counts: await jobCounts(client, request.params.job) };
  });
  // Throughput, durations and failures over the newest finished runs (job-stats.ts says which): bounded reads.
  app.get<{ Params: { job: string } }>('/api/jobs/:job/stats', { schema: { params: jobParams } }, async (request) => {
    await assertJobPresent(client, request.params.job);
    return jobStats(client, request.params.job);
  });
  // Which job(s) hold a run with this id: one read per job.
  app.get<{ Querystring: { runId: string } }>(
    '/api/search',
    { schema: { querystring: { type: 'object', required: ['runId'], additionalProperties: false, properties: { runId } } } },
    async (request) => ({ runs: await findRun(client, request.query.runId) }),
  );

  // One run, read from the cluster (not the mirror): the CLI's --wait and fresh pages use it.
  app.get<{ Params: { job: string; runId: string } }>('/api/runs/:job/:runId', { schema: { params: runParams } }, async (request) => {
    const { job, runId } = request.params;
    // Read from the cluster (no record -> DROVER_RUN_NOT_FOUND); a bundled run's path is its bundle's znode.
    return { run: { ...(await getRun(client, job, runId)), path: recordPathOf(job, runId) } };
  });
}
