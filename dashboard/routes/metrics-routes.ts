/**
 * GET /metrics: the dashboard's Prometheus metrics (metrics/dashboard-metrics.ts).
 * An ordinary route: the same hooks as /api/* (loopback host check, token).
 */
import type { FastifyInstance } from 'fastify';
import type { LiveState } from '../live/live-state.ts';
import { createDashboardMetrics } from '../metrics/dashboard-metrics.ts';

export function installMetricsRoutes(app: FastifyInstance, live: LiveState): void {
  const metrics = createDashboardMetrics(live);
  app.addHook('onClose', async () => metrics.close());
  app.get('/metrics', async (_request, reply) => {
    const text = await metrics.render();
    return reply.type(metrics.registry.contentType).send(text);
  });
}
