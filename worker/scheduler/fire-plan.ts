/**
 * The scheduler's decision for one job at one instant, pure: given the
 * cursor (the last fire time already fired or skipped, from the stored
 * ScheduleState), the scheduler's own clock `now`, the misfire grace and
 * policy, which fire times to fire now, which to record as skipped, and
 * where the cursor moves. Fire times come from the cron expression, never
 * from another machine's clock, so a new leader continues exactly where the
 * stored cursor says.
 *
 * A fire time T is on time while now - T <= graceMs: a failover shorter
 * than the grace fires every T it missed, late, so none is lost. Older
 * ones are misfires (no scheduler ran near T), decided by the policy:
 *   - skip: none of them fire; they are recorded as skipped.
 *   - fire-once: the latest of them fires; the older ones are skipped.
 */
import type { MisfirePolicy } from '../../shared/jobs/job-types.ts';
import { fireTimesBetween, lastFireTimeAtOrBefore, nextFireTime, type CronSchedule } from './cron-schedule.ts';

/** Counting skipped times stops here: an every-second cron down for a day would otherwise walk 86,400 dates. */
export const SKIP_COUNT_MAX = 10_000;

export interface FirePlanInput {
  schedule: CronSchedule;
  /** Fire times at or before the cursor are done (fired or skipped). */
  cursor: number;
  now: number;
  graceMs: number;
  policy: MisfirePolicy;
  /** At most this many fires per plan; the rest wait for the next plan (the cursor stops at the last one). */
  maxFires: number;
}

export interface SkippedRange {
  from: number;
  to: number;
  /** How many fire times were skipped (at least; see `countCapped`). */
  count: number;
  countCapped: boolean;
}

export interface FirePlan {
  /** Ascending fire times to fire now. */
  fire: number[];
  skipped: SkippedRange | null;
  /** The new cursor: the latest fire time fired or skipped (unchanged when nothing was due). */
  cursor: number;
  /** The next fire time after the new cursor (undefined when the expression never fires again). */
  next: number | undefined;
}

export function planFires(input: FirePlanInput): FirePlan {
  const { schedule, now, policy } = input;
  const maxFires = Math.max(1, input.maxFires);
  let cursor = input.cursor;
  const fire: number[] = [];
  let skipped: SkippedRange | null = null;

  const first = nextFireTime(schedule, cursor);
  const cutoff = now - Math.max(0, input.graceMs);
  if (first !== undefined && first <= cutoff) {
    const latestMissed = lastFireTimeAtOrBefore(schedule, cutoff) ?? first;
    const counted = fireTimesBetween(schedule, { afterMs: cursor, untilMs: latestMissed, max: SKIP_COUNT_MAX });
    const countCapped = counted.length === SKIP_COUNT_MAX && counted[counted.length - 1] !== latestMissed;
    if (policy === 'fire-once') {
      fire.push(latestMissed);
      if (counted.length > 1 || countCapped) {
        const before = lastFireTimeAtOrBefore(schedule, latestMissed - 1) ?? first;
        skipped = { from: first, to: before, count: counted.length - 1, countCapped };
      }
    } else {
      skipped = { from: first, to: latestMissed, count: counted.length, countCapped };
    }
    cursor = latestMissed;
  }

  const onTime = fireTimesBetween(schedule, { afterMs: cursor, untilMs: now, max: maxFires - fire.length });
  fire.push(...onTime);
  const last = fire[fire.length - 1];
  if (last !== undefined && last > cursor) cursor = last;
  return { fire, skipped, cursor, next: nextFireTime(schedule, cursor) };
}
