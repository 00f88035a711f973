/**
 * The operator's bulk actions (BullMQ's retryJobs, clean, promote and
 * obliterate; Bull Board's buttons): POST, token-checked like every change
 * (plugins/token-auth.ts). The page asks the operator to confirm; these
 * routes act at once. Each answers what it did, or `{ error }` with its
 * DROVER_* code (http-errors.ts).
 */
import type { FastifyInstance } from 'fastify';
import type { JobActions } from '../job-actions.ts';
import type { CleanState } from '../../shared/jobs/run-clean.ts';
import { CLEAN_STATES } from '../../shared/jobs/run-clean.ts';
import type { RetryAllState } from '../../shared/jobs/run-retry-all.ts';
import { jobParams, runParams } from './schemas.ts';

/** A century: anything longer is a typo. */
const AGE_MS_MAX = 100 * 365 * 24 * 3600 * 1000;

/** `changed` hears of a run an action moved (promote), so the live table shows it at once; bulk actions leave the table to its own refresh. */
export function installBulkRoutes(app: FastifyInstance, actions: JobActions, changed: (job: string, runId: string) => Promise<void> = async () => {}): void {
  app.post<{ Params: { job: string }; Body: { state: RetryAllState } }>(
    '/api/jobs/:job/retry-all',
    {
      schema: {
        params: jobParams,
        body: { type: 'object', required: ['state'], additionalProperties: false, properties: { state: { type: 'string', enum: ['failed', 'dead'] } } },
      },
    },
    async (request) => actions.retryAll(request.params.job, request.body.state),
  );
  app.post<{ Params: { job: string }; Body: { olderThanMs: number; state: CleanState } }>(
    '/api/jobs/:job/clean',
    {
      schema: {
        params: jobParams,
        body: {
          type: 'object',
          required: ['olderThanMs', 'state'],
          additionalProperties: false,
          properties: { olderThanMs: { type: 'integer', minimum: 0, maximum: AGE_MS_MAX }, state: { type: 'string', enum: [...CLEAN_STATES] } },
        },
      },
    },
    async (request) => actions.clean(request.params.job, { olderThanMs: request.body.olderThanMs, state: request.body.state }),
  );
  app.post<{ Params: { job: string; runId: string } }>('/api/runs/:job/:runId/promote', { schema: { params: runParams } }, async (request) => {
    await actions.promote(request.params.job, request.params.runId);
    await changed(request.params.job, request.params.runId);
    return { ok: true };
  });
  app.post<{ Params: { job: string }; Body: { force?: boolean } | undefined }>(
    '/api/jobs/:job/remove',
    {
      schema: { params: jobParams, body: { type: 'object', additionalProperties: false, properties: { force: { type: 'boolean' } } } },
      // The body is optional: a POST without one means no force.
      preValidation: async (request) => {
        request.body ??= {};
      },
    },
    async (request) => {
      await actions.remove(request.params.job, { force: request.body?.force === true });
      return { ok: true };
    },
  );
}
