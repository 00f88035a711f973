/**
 * The next fire times of a cron schedule, for the schedules view. Pure:
 * `now` is passed in.
 */
import { CronExpressionParser } from 'cron-parser';
import { DroverError } from '../../shared/errors.ts';

export function nextFireTimes(cron: string, opts: { timezone?: string; now: number; count?: number }): number[] {
  let expr;
  try {
    expr = CronExpressionParser.parse(cron, { currentDate: new Date(opts.now), tz: opts.timezone ?? 'UTC' });
  } catch (err) {
    throw new DroverError('DROVER_INVALID_SCHEDULE', `cannot read the cron '${cron}': ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const out: number[] = [];
  for (let i = 0; i < (opts.count ?? 5); i++) out.push(expr.next().getTime());
  return out;
}
