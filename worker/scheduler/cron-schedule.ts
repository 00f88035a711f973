/**
 * Cron math, pure: which fire times a cron expression in a time zone has
 * after (or before) a given instant. No clock is read here; callers pass
 * the instant, so the scheduler stamps fire times from its own clock and
 * tests drive time freely. cron-parser (v5) does the calendar work,
 * including DST: a wall time that does not exist (spring forward) fires at
 * the next existing minute, one that exists twice (fall back) fires once.
 */
import { CronExpressionParser, type CronExpression } from 'cron-parser';
import { DroverError } from '../../shared/errors.ts';

export interface CronSchedule {
  cron: string;
  /** IANA zone; 'UTC' when the job names none. */
  timezone: string;
}

function checkZone(timezone: string): void {
  try {
    // Intl is the authority cron-parser itself relies on; it rejects unknown zones.
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
  } catch (cause) {
    throw new DroverError('DROVER_INVALID_SCHEDULE', `unknown time zone '${timezone}'`, { cause, details: { timezone } });
  }
}

function expressionAt(s: CronSchedule, atMs: number): CronExpression {
  try {
    return CronExpressionParser.parse(s.cron, { tz: s.timezone, currentDate: new Date(atMs) });
  } catch (cause) {
    throw new DroverError('DROVER_INVALID_SCHEDULE', `cron '${s.cron}' does not parse: ${(cause as Error).message}`, {
      cause,
      details: { cron: s.cron, timezone: s.timezone },
    });
  }
}

/** Throws DROVER_INVALID_SCHEDULE unless the expression and zone parse and the expression ever fires. */
export function validateSchedule(s: CronSchedule): void {
  checkZone(s.timezone);
  const e = expressionAt(s, 0);
  try {
    e.next();
  } catch (cause) {
    throw new DroverError('DROVER_INVALID_SCHEDULE', `cron '${s.cron}' never fires`, { cause, details: { cron: s.cron } });
  }
}

/** The first fire time strictly after `afterMs`, or undefined when there is none. */
export function nextFireTime(s: CronSchedule, afterMs: number): number | undefined {
  const e = expressionAt(s, afterMs);
  try {
    return e.next().getTime();
  } catch {
    return undefined; // an expression whose dates have run out (e.g. a fixed year in the past)
  }
}

/** The last fire time at or before `atMs`, or undefined when there is none. */
export function lastFireTimeAtOrBefore(s: CronSchedule, atMs: number): number | undefined {
  // prev() is strictly before its current date, and cron-parser works in whole seconds.
  const e = expressionAt(s, atMs + 1);
  try {
    const t = e.prev().getTime();
    return t <= atMs ? t : undefined;
  } catch {
    return undefined;
  }
}

/** Fire times in (afterMs, untilMs], ascending, at most `max` of them. */
export function fireTimesBetween(s: CronSchedule, opts: { afterMs: number; untilMs: number; max: number }): number[] {
  const out: number[] = [];
  if (opts.untilMs <= opts.afterMs) return out;
  const e = expressionAt(s, opts.afterMs);
  while (out.length < opts.max) {
    let t: number;
    try {
      t = e.next().getTime();
    } catch {
      break;
    }
    if (t > opts.untilMs) break;
    out.push(t);
  }
  return out;
}
