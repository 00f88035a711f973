/** The mutating routes (token-checked by plugins/token-auth.ts when a token is set). */
import type { FastifyInstance } from 'fastify';
import type { JobActions } from '../job-actions.ts';
import { jobParams, runParams } from './schemas.ts';

/** `changed` hears of each run an action touched, so the live table can show it at once. */
export function installActionRoutes(app: FastifyInstance, actions: JobActions, changed: (job: string, runId: string) => Promise<void> = async () => {}): void {
  app.post<{ Params: { job: string }; Body: { input?: unknown; delayMs?: number; priority?: number } }>(
    '/api/jobs/:job/runs',
    {
      schema: {
        params: jobParams,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            input: {},
            delayMs: { type: 'integer', minimum: 0, maximum: 365 * 24 * 3600 * 1000 },
            priority: { type: 'integer', minimum: 0, maximum: 9 },
          },
        },
      },
    },
    async (request, reply) => {
      const body = request.body ?? {};
      const { runId } = await actions.enqueue(request.params.job, body);
      await changed(request.params.job, runId);
      return reply.status(201).send({ job: request.params.job, runId });
    },
  );
  app.post<{ Params: { job: string; runId: string } }>('/api/runs/:job/:runId/retry', { schema: { params: runParams } }, async (request) => {
    await actions.retry(request.params.job, request.params.runId);
    await changed(request.params.job, request.params.runId);
    return { ok: true };
  });
  app.post<{ Params: { job: string; runId: string } }>('/api/runs/:job/:runId/cancel', { schema: { params: runParams } }, async (request) => {
    await actions.cancel(request.params.job, request.params.runId);
    await changed(request.params.job, request.params.runId);
    return { ok: true };
  });
  app.post<{ Params: { job: string } }>('/api/jobs/:job/pause', { schema: { params: jobParams } }, async (request) => {
    await actions.pause(request.params.job);
    return { ok: true, paused: true };
  });
  app.post<{ Params: { job: string } }>('/api/jobs/:job/resume', { schema: { params: jobParams } }, async (request) => {
    await actions.resume(request.params.job);
    return { ok: true, paused: false };
  });
}
