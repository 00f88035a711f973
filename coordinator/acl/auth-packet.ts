/**
 * An auth packet (addAuth): what ZooKeeper's providers do with it, over the
 * connection's identities. `digest` adds `user:base64(sha1)` (and `super`
 * when it is the configured super digest); `ip` authenticates by address,
 * which the connection already holds; any other scheme fails (AuthFailed,
 * and ZooKeeper closes the connection).
 */
import type { Id } from '../protocol/records.ts';
import { parseDigestAuth } from './digest.ts';

export function addAuth(authIds: Id[], scheme: string, auth: Buffer, superDigest: string | undefined): boolean {
  if (scheme === 'digest') {
    const id = parseDigestAuth(auth);
    if (!authIds.some((a) => a.scheme === 'digest' && a.id === id.id)) authIds.push(id);
    if (superDigest && id.id === superDigest && !authIds.some((a) => a.scheme === 'super')) authIds.push({ scheme: 'super', id: '' });
    return true;
  }
  return scheme === 'ip';
}
