/**
 * DNS rebinding: a page on evil.example whose name is re-pointed at
 * 127.0.0.1 reaches a loopback dashboard as "same origin". A dashboard on
 * loopback therefore answers only requests addressed to a loopback name.
 */
import type { FastifyInstance } from 'fastify';
import { DroverError } from '../../shared/errors.ts';

const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

export function hostnameOf(hostHeader: string): string {
  if (hostHeader.startsWith('[')) return hostHeader.slice(0, hostHeader.indexOf(']') + 1);
  const colon = hostHeader.lastIndexOf(':');
  return colon === -1 ? hostHeader : hostHeader.slice(0, colon);
}

export function installLoopbackHostCheck(app: FastifyInstance): void {
  app.addHook('onRequest', async (request) => {
    const host = request.headers.host;
    if (host === undefined || LOOPBACK_NAMES.has(hostnameOf(host).toLowerCase()) || /^127\.\d+\.\d+\.\d+$/.test(hostnameOf(host))) return;
    throw new DroverError('DROVER_UNAUTHORIZED', `this dashboard listens on loopback and answers only to 127.0.0.1 or localhost, not '${host}' (start it with --host and --token to expose it)`);
  });
}
