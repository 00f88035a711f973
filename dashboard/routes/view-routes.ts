/** GET routes over the live model: what each view of the UI shows. */
import type { FastifyInstance } from 'fastify';
import type { Coordination } from '../../shared/client/coordination.ts';
import { recordPathOf } from '../../shared/jobs/run-lookup.ts';
import type { LiveState } from '../live/live-state.ts';
import { runsView } from '../model/cluster-view.ts';
import { getRun } from '../../shared/jobs/run-admin.ts';
import { jobName, runParams } from './schemas.ts';

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

  app.get<{ Querystring: { job?: string; state?: string; limit?: number } }>(
    '/api/runs',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { job: jobName, state: { type: 'string', enum: ['queued', 'delayed', 'waiting-barrier', 'active', 'succeeded', 'failed', 'dead', 'cancelled'] }, limit: { type: 'integer', minimum: 1, maximum: 1000 } },
        },
      },
    },
    async (request) => {
      const { job, state, limit } = request.query;
      let runs = runsView(live.mirror, { finishedLimit: limit ?? 100, ...(job ? { job } : {}) });
      if (state) runs = runs.filter((r) => r.state === state);
      return { runs: runs.slice(0, limit ?? 200) };
    },
  );

  // One run, read from the cluster (not the mirror): the CLI's --wait and fresh pages use it.
  app.get<{ Params: { job: string; runId: string } }>('/api/runs/:job/:runId', { schema: { params: runParams } }, async (request) => {
    const { job, runId } = request.params;
    const found = runsView(live.mirror, { job, finishedLimit: 1000 }).find((r) => r.id === runId);
    if (found) return { run: found };
    // Not in the cache yet (just enqueued) or beyond what it shows: read it (no record -> DROVER_RUN_NOT_FOUND).
    // A bundled run's path is its bundle's znode, as in the runs view.
    return { run: { ...(await getRun(client, job, runId)), path: recordPathOf(job, runId) } };
  });
}
