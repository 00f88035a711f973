/** The digest scheme: ids are user:base64(sha1("user:password")). */
import { createHash } from 'node:crypto';
import type { Id } from '../protocol/records.ts';

export function digestId(user: string, password: string): string {
  return `${user}:${createHash('sha1').update(`${user}:${password}`, 'utf8').digest('base64')}`;
}

/** addauth digest never fails: whatever arrives is hashed; a wrong password shows up later as NoAuth. */
export function parseDigestAuth(auth: Buffer): Id {
  const text = auth.toString('utf8');
  const i = text.indexOf(':');
  const user = i < 0 ? text : text.slice(0, i);
  const password = i < 0 ? '' : text.slice(i + 1);
  return { scheme: 'digest', id: digestId(user, password) };
}

/** DigestAuthenticationProvider.isValid: exactly one ':' separating user and hash. */
export function isValidDigestId(id: string): boolean {
  return id.split(':').length === 2;
}
