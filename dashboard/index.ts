/**
 * The dashboard: a fastify app serving the JSON API, the SSE feed and the
 * web UI, over one Coordination client (so it runs on Drover or on Apache
 * ZooKeeper alike). `buildDashboard` does not listen (tests use inject());
 * `startDashboard` listens, on 127.0.0.1 unless told otherwise, and refuses
 * to listen anywhere else without a token; with `tls` it serves HTTPS.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Coordination } from '../shared/client/coordination.ts';
import { DroverError } from '../shared/errors.ts';
import { silentLogger } from '../shared/log.ts';
import { installErrorHandler } from './http-errors.ts';
import { clusterActions, type JobActions } from './job-actions.ts';
import { LiveState } from './live/live-state.ts';
import { installLoopbackHostCheck } from './plugins/host-check.ts';
import { installStaticFiles } from './plugins/static-files.ts';
import { installTokenAuth, isLoopback } from './plugins/token-auth.ts';
import { installActionRoutes } from './routes/action-routes.ts';
import { installBulkRoutes } from './routes/bulk-routes.ts';
import { installEventRoutes } from './routes/event-routes.ts';
import { installMetricsRoutes } from './routes/metrics-routes.ts';
import { installViewRoutes } from './routes/view-routes.ts';
import { installZnodeRoutes } from './routes/znode-routes.ts';
import { componentLogger } from '../shared/log.ts';

export interface DashboardOptions {
  client: Coordination;
  /** The connect string, for the ensemble view's srvr/mntr probes of each member. */
  connect: string;
  /** When set, every route but the page's static files needs it; required to be set when exposed beyond loopback. */
  token?: string;
  /** Serve HTTPS with this certificate and key (PEM), as fastify's `https` options. */
  tls?: { cert: Buffer | string; key: Buffer | string };
  logger?: Logger;
  /** How often the ensemble view asks each member srvr/mntr (default 2000 ms). */
  probeIntervalMs?: number;
  /** Override the actions (default: the runtime's helpers over `client`). */
  actions?: JobActions;
  /** Answer only requests addressed to a loopback name (DNS rebinding); startDashboard sets it on loopback. */
  loopbackOnly?: boolean;
}

export interface StartDashboardOptions extends DashboardOptions {
  host?: string;
  port: number;
}

const BODY_LIMIT_BYTES = 512 * 1024;

export async function buildDashboard(opts: DashboardOptions): Promise<FastifyInstance> {
  const logger = componentLogger(opts.logger ?? silentLogger, 'dashboard');
  const app = Fastify({
    ...(opts.tls ? { https: { cert: opts.tls.cert, key: opts.tls.key } } : {}),
    loggerInstance: logger as FastifyBaseLogger,
    // One line per request would drown the cluster's own logs (the UI polls nothing, but SSE reconnects).
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT_BYTES,
    // A run id or job name in a URL is never this long; longer is an attack or a bug.
    routerOptions: { maxParamLength: 256 },
    ajv: { customOptions: { allErrors: false, coerceTypes: 'array', removeAdditional: false } },
  });
  installErrorHandler(app, logger);
  if (opts.loopbackOnly) installLoopbackHostCheck(app);
  installTokenAuth(app, opts.token);
  const live = new LiveState({ client: opts.client, connect: opts.connect, logger, ...(opts.probeIntervalMs ? { probeIntervalMs: opts.probeIntervalMs } : {}) });
  app.addHook('onClose', async () => live.close());
  await live.start();
  installStaticFiles(app);
  installViewRoutes(app, live, opts.client);
  installZnodeRoutes(app, opts.client);
  installActionRoutes(app, opts.actions ?? clusterActions(opts.client), (job, runId) => live.noteRun(job, runId));
  installBulkRoutes(app, opts.actions ?? clusterActions(opts.client), (job, runId) => live.noteRun(job, runId));
  installEventRoutes(app, live);
  installMetricsRoutes(app, live);
  return app;
}

export async function startDashboard(opts: StartDashboardOptions): Promise<{ app: FastifyInstance; url: string }> {
  const host = opts.host ?? '127.0.0.1';
  if (!isLoopback(host) && !opts.token) {
    throw new DroverError('DROVER_CONFIG', `the dashboard would listen on ${host} without a token: pass --token (or set DROVER_DASHBOARD_TOKEN), or keep the default host 127.0.0.1`);
  }
  const app = await buildDashboard({ ...opts, loopbackOnly: opts.loopbackOnly ?? isLoopback(host) });
  try {
    await app.listen({ host, port: opts.port });
  } catch (err) {
    await app.close();
    throw new DroverError('DROVER_CONFIG', `the dashboard cannot listen on ${host}:${opts.port}: ${err instanceof Error ? err.message : String(err)} (pick another --port)`, { cause: err });
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  const shown = host.includes(':') ? `[${host}]` : host;
  return { app, url: `${opts.tls ? 'https' : 'http'}://${shown}:${port}/` };
}
