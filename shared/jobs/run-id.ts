/**
 * Run ids: `r-<ms base36, 9 digits>-<8 random base36>`. Time-ordered to
 * the millisecond (so a listing sorts by age), unique without coordination
 * (8 random base36 chars: ~2.8e12 per millisecond), and safe znode names.
 */
import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';

export function newRunId(nowMs: number = Date.now()): string {
  const bytes = randomBytes(8);
  let rand = '';
  for (const b of bytes) rand += ALPHABET[b % 36];
  return `r-${nowMs.toString(36).padStart(9, '0')}-${rand}`;
}

/** The enqueue time a run id carries, or NaN for a user-chosen id. */
export function runIdTime(runId: string): number {
  const m = /^r-([0-9a-z]{9})-[0-9a-z]{8}$/.exec(runId);
  return m?.[1] ? parseInt(m[1], 36) : Number.NaN;
}
