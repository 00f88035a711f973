/**
 * Secrets (the token, a cookie's signature) are compared in constant time.
 * Both sides are hashed first so timingSafeEqual gets equal lengths and the
 * comparison leaks neither where they differ nor how long the secret is.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (s: string) => createHash('sha256').update(s).digest();

export function sameSecret(expected: string, given: string | undefined): boolean {
  return given !== undefined && timingSafeEqual(digest(expected), digest(given));
}
