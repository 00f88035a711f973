/**
 * When the dashboard has a token (it must when it listens beyond loopback:
 * startDashboard refuses otherwise), every route needs it, reads included;
 * only routes marked `config: PUBLIC_ROUTE` (the page's own files, which
 * hold no data) are open. The token travels as `Authorization: Bearer
 * <token>` or `X-Drover-Token`, compared in constant time; reads also accept
 * the page's session cookie (session-cookie.ts), changes never do.
 * Cross-site requests (another page's Origin) may never change anything.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DroverError } from '../../shared/errors.ts';
import { sameSecret } from './same-secret.ts';
import { createSessions } from './session-cookie.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Served without the token (static files only: they must hold no data). */
    public?: boolean;
  }
}

export const PUBLIC_ROUTE = { public: true } as const;

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function presentedToken(request: FastifyRequest): string | undefined {
  const auth = request.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice('Bearer '.length).trim();
  const header = request.headers['x-drover-token'];
  return typeof header === 'string' ? header : undefined;
}

export function tokenMatches(expected: string, given: string | undefined): boolean {
  return sameSecret(expected, given);
}

/**
 * A browser sends Origin on a cross-site POST; a page elsewhere must not
 * drive this dashboard through the user's browser (a POST without a body is
 * a "simple" request that CORS does not preflight), token or not.
 */
export function isCrossSite(request: FastifyRequest): boolean {
  if (request.headers['sec-fetch-site'] === 'cross-site') return true;
  const origin = request.headers.origin;
  if (!origin || origin === 'null') return origin === 'null';
  try {
    return new URL(origin).host !== request.headers.host;
  } catch {
    return true;
  }
}

const TOKEN_HELP = 'send Authorization: Bearer <token> (the --token flag or DROVER_DASHBOARD_TOKEN it was started with)';

export function installTokenAuth(app: FastifyInstance, token: string | undefined): void {
  const sessions = createSessions();
  app.addHook('onRequest', async (request, reply) => {
    const safe = SAFE_METHODS.has(request.method);
    if (!safe && isCrossSite(request)) {
      throw new DroverError('DROVER_UNAUTHORIZED', 'cross-site requests may not change this dashboard: use the dashboard page itself, or a client that sends no foreign Origin');
    }
    if (!token || request.routeOptions.config.public || tokenMatches(token, presentedToken(request))) return;
    if (safe && sessions.valid(request)) return;
    reply.header('www-authenticate', 'Bearer realm="drover-dashboard"');
    throw new DroverError('DROVER_UNAUTHORIZED', safe ? `this dashboard needs its token to be read: ${TOKEN_HELP}, or sign in on its page` : `this dashboard needs its token for changes: ${TOKEN_HELP}`);
  });
  // The page trades the token (checked by the hook above: a POST) for the cookie its EventSource needs.
  app.post('/api/session', async (request, reply) => (token ? { required: true, expiresAt: sessions.issue(request, reply) } : { required: false }));
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
