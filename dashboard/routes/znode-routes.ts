/**
 * The znode browser: one node's data, Stat, ACL and children, read from
 * the cluster when asked (a user browsing, not a feed). Data is returned as
 * text when it is valid UTF-8 and as base64 otherwise.
 */
import type { FastifyInstance } from 'fastify';
import type { Coordination } from '../../shared/client/coordination.ts';
import { znodePath } from './schemas.ts';

const TEXT_PREVIEW_BYTES = 64 * 1024;

export function describeData(data: Buffer): { text?: string; base64?: string; bytes: number; truncated: boolean } {
  const slice = data.subarray(0, TEXT_PREVIEW_BYTES);
  const truncated = data.length > slice.length;
  const text = new TextDecoder('utf-8', { fatal: false }).decode(slice);
  // U+FFFD means the bytes were not UTF-8: show them as base64 instead.
  if (!text.includes('\uFFFD')) return { text, bytes: data.length, truncated };
  return { base64: slice.toString('base64'), bytes: data.length, truncated };
}

export function installZnodeRoutes(app: FastifyInstance, client: Coordination): void {
  app.get<{ Querystring: { path: string } }>(
    '/api/znodes',
    { schema: { querystring: { type: 'object', required: ['path'], additionalProperties: false, properties: { path: znodePath } } } },
    async (request) => {
      const { path } = request.query;
      const [{ data, stat }, { acl }, children] = await Promise.all([client.get(path), client.getAcl(path), client.children(path)]);
      return { path, root: client.root, data: describeData(data), stat, acl, children: children.sort() };
    },
  );
}
