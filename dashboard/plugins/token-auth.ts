/**
 * Mutating routes need the dashboard's token when one is configured (and
 * one must be when the dashboard listens beyond loopback: startDashboard
 * refuses otherwise). The token travels as `Authorization: Bearer <token>`
 * or `X-Drover-Token`; it is compared in constant time. Cross-site
 * requests (another page's Origin) may never change anything.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DroverError } from '../../shared/errors.ts';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function presentedToken(request: FastifyRequest): string | undefined {
  const auth = request.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice('Bearer '.length).trim();
  const header = request.headers['x-drover-token'];
  return typeof header === 'string' ? header : undefined;
}

export function tokenMatches(expected: string, given: string | undefined): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
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

export function installTokenAuth(app: FastifyInstance, token: string | undefined): void {
  app.addHook('onRequest', async (request) => {
    if (SAFE_METHODS.has(request.method)) return;
    if (isCrossSite(request)) {
      throw new DroverError('DROVER_UNAUTHORIZED', 'cross-site requests may not change this dashboard: use the dashboard page itself, or a client that sends no foreign Origin');
    }
    if (token && !tokenMatches(token, presentedToken(request))) {
      throw new DroverError('DROVER_UNAUTHORIZED', 'this dashboard needs its token for changes: send Authorization: Bearer <token> (the --token flag or DROVER_DASHBOARD_TOKEN it was started with)');
    }
  });
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
