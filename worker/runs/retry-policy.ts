/**
 * Pure retry arithmetic: whether a failed attempt is retried, and after how
 * long. Attempts used = attempt - freeAttempts (claims that did not count:
 * hand-backs and lost leases within maxStalls).
 */
import type { Backoff, RunRecord } from '../../shared/jobs/job-types.ts';

export function attemptsUsed(record: Pick<RunRecord, 'attempt' | 'freeAttempts'>): number {
  return record.attempt - (record.freeAttempts ?? 0);
}

export function hasAttemptsLeft(record: Pick<RunRecord, 'attempt' | 'freeAttempts' | 'maxAttempts'>): boolean {
  return attemptsUsed(record) < record.maxAttempts;
}

/** The delay before retry number `retry` (1 for the first retry). */
export function backoffDelayMs(backoff: Backoff | undefined, retry: number): number {
  if (!backoff) return 0;
  if (backoff.type === 'fixed') return backoff.delayMs;
  const raw = backoff.delayMs * 2 ** Math.max(0, retry - 1);
  return Math.min(raw, backoff.maxDelayMs ?? Number.MAX_SAFE_INTEGER);
}
