/**
 * Mutating routes need the dashboard's token when one is configured (and
 * one must be when the dashboard listens beyond loopback: startDashboard
 * refuses otherwise). The token travels as `Authorization: Bearer <token>`
 * or `X-Drover-Token`; it is compared in constant time.
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

export function installTokenAuth(app: FastifyInstance, token: string | undefined): void {
  if (!token) return;
  app.addHook('onRequest', async (request) => {
    if (SAFE_METHODS.has(request.method)) return;
    if (!tokenMatches(token, presentedToken(request))) {
      throw new DroverError('DROVER_UNAUTHORIZED', 'this dashboard needs its token for changes: send Authorization: Bearer <token> (the --token flag or DROVER_DASHBOARD_TOKEN it was started with)');
    }
  });
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
