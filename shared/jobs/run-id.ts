/**
 * Run ids: `r-<ms base36, 9 digits>-<8 random base36>`. Time-ordered to
 * the millisecond (so a listing sorts by age), unique without coordination
 * (8 random base36 chars: ~2.8e12 per millisecond), and safe znode names.
 *
 * Bundles (docs/adr/0006-run-bundles.md) are `b-<ms>-<rand>` and the k-th
 * run in one is `b-<ms>-<rand>.<k>`: a run id says by its shape alone whether
 * its record is its own or its bundle's, so no lookup has to guess. Claim
 * groups (claim-group.ts) are `c-<ms>-<rand>`: a lease or inflight name says
 * by its shape whether it is a group, a bundle or a run.
 */
import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';

function stamp(prefix: 'r' | 'b' | 'c', nowMs: number): string {
  const bytes = randomBytes(8);
  let rand = '';
  for (const b of bytes) rand += ALPHABET[b % 36];
  return `${prefix}-${nowMs.toString(36).padStart(9, '0')}-${rand}`;
}

export function newRunId(nowMs: number = Date.now()): string {
  return stamp('r', nowMs);
}

export function newBundleId(nowMs: number = Date.now()): string {
  return stamp('b', nowMs);
}

/** A claim group's name (shared/jobs/claim-group.ts): `c-<ms>-<rand>`, one lease and inflight for a claim's runs. */
export function newClaimId(nowMs: number = Date.now()): string {
  return stamp('c', nowMs);
}

const BUNDLE_ID = /^b-[0-9a-z]{9}-[0-9a-z]{8}$/;
const CLAIM_ID = /^c-[0-9a-z]{9}-[0-9a-z]{8}$/;

/** True for a claim group's name. */
export function isClaimId(id: string): boolean {
  return CLAIM_ID.test(id);
}
const BUNDLED_RUN_ID = /^(b-[0-9a-z]{9}-[0-9a-z]{8})\.(\d{1,3})$/;

/** True for a bundle's record id (`b-...`, no `.k`). */
export function isBundleId(id: string): boolean {
  return BUNDLE_ID.test(id);
}

/** The id of the k-th run in a bundle. */
export function bundledRunId(bundleId: string, index: number): string {
  return `${bundleId}.${index}`;
}

/** `b-....k` -> its bundle and index; null for a run with a record of its own. */
export function splitBundledRunId(runId: string): { bundleId: string; index: number } | null {
  const m = BUNDLED_RUN_ID.exec(runId);
  return m?.[1] && m[2] ? { bundleId: m[1], index: Number(m[2]) } : null;
}

/** Ids of these shapes are made by the runtime only (an explicit runId may not take them). */
export function isReservedRunId(id: string): boolean {
  return BUNDLE_ID.test(id) || BUNDLED_RUN_ID.test(id) || CLAIM_ID.test(id);
}

/** The enqueue time a run (or bundle, or bundled run) id carries, or NaN for a user-chosen id. */
export function runIdTime(runId: string): number {
  const m = /^[rb]-([0-9a-z]{9})-[0-9a-z]{8}(?:\.\d{1,3})?$/.exec(runId);
  return m?.[1] ? parseInt(m[1], 36) : Number.NaN;
}
