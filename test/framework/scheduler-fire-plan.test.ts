/**
 * The scheduler's pure cron math: next fire times, DST zones, and the
 * misfire plan. Property tests drive a simulated clock through many plans
 * and check that every cron time is decided exactly once.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { fireTimesBetween, lastFireTimeAtOrBefore, nextFireTime, validateSchedule } from '../../worker/scheduler/cron-schedule.ts';
import { planFires } from '../../worker/scheduler/fire-plan.ts';
import { isDroverError } from '../../shared/errors.ts';

const SECONDLY = { cron: '* * * * * *', timezone: 'UTC' };
const T0 = Date.UTC(2026, 0, 1);

describe('cron schedule', () => {
  it('rejects bad expressions and zones with DROVER_INVALID_SCHEDULE', () => {
    for (const s of [
      { cron: 'not cron', timezone: 'UTC' },
      { cron: '* * * * *', timezone: 'Mars/Olympus' },
      { cron: '0 0 30 2 *', timezone: 'UTC' },
      { cron: '99 * * * *', timezone: 'UTC' },
    ]) {
      let thrown: unknown;
      try {
        validateSchedule(s);
      } catch (err) {
        thrown = err;
      }
      expect(isDroverError(thrown, 'DROVER_INVALID_SCHEDULE'), s.cron + ' ' + s.timezone).toBe(true);
    }
    expect(() => validateSchedule({ cron: '0 3 * * 1-5', timezone: 'Europe/Berlin' })).not.toThrow();
  });

  it('next fire is strictly after its instant; last-at-or-before includes it', () => {
    expect(nextFireTime(SECONDLY, T0)).toBe(T0 + 1000);
    expect(nextFireTime(SECONDLY, T0 + 500)).toBe(T0 + 1000);
    expect(lastFireTimeAtOrBefore(SECONDLY, T0)).toBe(T0);
    expect(lastFireTimeAtOrBefore(SECONDLY, T0 + 999)).toBe(T0);
    expect(fireTimesBetween(SECONDLY, { afterMs: T0, untilMs: T0 + 3000, max: 10 })).toEqual([T0 + 1000, T0 + 2000, T0 + 3000]);
  });

  it('spring forward: a nonexistent 02:30 fires once, at 03:30 local', () => {
    const s = { cron: '30 2 * * *', timezone: 'America/New_York' };
    const t = fireTimesBetween(s, { afterMs: Date.UTC(2026, 2, 7, 12), untilMs: Date.UTC(2026, 2, 10, 12), max: 10 });
    expect(t.map((x) => new Date(x).toISOString())).toEqual(['2026-03-08T07:30:00.000Z', '2026-03-09T06:30:00.000Z', '2026-03-10T06:30:00.000Z']);
  });

  it('fall back: a doubled 01:30 fires once', () => {
    const s = { cron: '30 1 * * *', timezone: 'America/New_York' };
    const t = fireTimesBetween(s, { afterMs: Date.UTC(2026, 9, 31, 12), untilMs: Date.UTC(2026, 10, 2, 12), max: 10 });
    expect(t.map((x) => new Date(x).toISOString())).toEqual(['2026-11-01T05:30:00.000Z', '2026-11-02T06:30:00.000Z']);
  });

  it('daily at 09:00 in Europe/Berlin is 08:00Z in winter and 07:00Z in summer', () => {
    const s = { cron: '0 9 * * *', timezone: 'Europe/Berlin' };
    expect(new Date(nextFireTime(s, Date.UTC(2026, 0, 10)) ?? 0).toISOString()).toBe('2026-01-10T08:00:00.000Z');
    expect(new Date(nextFireTime(s, Date.UTC(2026, 6, 10)) ?? 0).toISOString()).toBe('2026-07-10T07:00:00.000Z');
  });

  const zones = fc.constantFrom('UTC', 'America/New_York', 'Europe/London', 'Australia/Lord_Howe', 'Asia/Kolkata', 'Pacific/Chatham');
  const crons = fc.constantFrom('* * * * *', '*/7 * * * *', '30 2 * * *', '0 1,2,3 * * *', '15 */3 * * 1-5', '0 0 1 * *', '*/10 * * * * *');

  it('property: successive next fire times strictly increase and match a walk', () => {
    fc.assert(
      fc.property(crons, zones, fc.integer({ min: Date.UTC(2025, 0, 1), max: Date.UTC(2028, 0, 1) }), (cron, timezone, start) => {
        const s = { cron, timezone };
        let t = start;
        const walked: number[] = [];
        for (let i = 0; i < 30; i++) {
          const n = nextFireTime(s, t);
          expect(n).toBeDefined();
          expect(n as number).toBeGreaterThan(t);
          walked.push(n as number);
          t = n as number;
        }
        expect(fireTimesBetween(s, { afterMs: start, untilMs: t, max: 100 })).toEqual(walked);
      }),
      { numRuns: 60 },
    );
  });
});

describe('fire plan', () => {
  it('nothing due: fires nothing, cursor stays, next is the following fire time', () => {
    const p = planFires({ schedule: SECONDLY, cursor: T0, now: T0 + 900, graceMs: 5000, policy: 'skip', maxFires: 10 });
    expect(p).toEqual({ fire: [], skipped: null, cursor: T0, next: T0 + 1000 });
  });

  it('within the grace a late scheduler fires every missed time', () => {
    const p = planFires({ schedule: SECONDLY, cursor: T0, now: T0 + 4200, graceMs: 5000, policy: 'skip', maxFires: 10 });
    expect(p.fire).toEqual([T0 + 1000, T0 + 2000, T0 + 3000, T0 + 4000]);
    expect(p.skipped).toBeNull();
    expect(p.cursor).toBe(T0 + 4000);
    expect(p.next).toBe(T0 + 5000);
  });

  it('skip: times older than the grace are recorded as skipped and none of them fires', () => {
    const p = planFires({ schedule: SECONDLY, cursor: T0, now: T0 + 60_500, graceMs: 2000, policy: 'skip', maxFires: 10 });
    expect(p.skipped).toEqual({ from: T0 + 1000, to: T0 + 58_000, count: 58, countCapped: false });
    expect(p.fire).toEqual([T0 + 59_000, T0 + 60_000]);
  });

  it('fire-once: the latest misfired time fires, older ones are skipped', () => {
    const hourly = { cron: '0 * * * *', timezone: 'UTC' };
    const p = planFires({ schedule: hourly, cursor: T0, now: T0 + 5.5 * 3600_000, graceMs: 60_000, policy: 'fire-once', maxFires: 10 });
    expect(p.fire).toEqual([T0 + 5 * 3600_000]);
    expect(p.skipped).toEqual({ from: T0 + 3600_000, to: T0 + 4 * 3600_000, count: 4, countCapped: false });
    expect(p.cursor).toBe(T0 + 5 * 3600_000);
  });

  it('fire-once with a single misfire skips nothing', () => {
    const hourly = { cron: '0 * * * *', timezone: 'UTC' };
    const p = planFires({ schedule: hourly, cursor: T0, now: T0 + 1.5 * 3600_000, graceMs: 60_000, policy: 'fire-once', maxFires: 10 });
    expect(p.fire).toEqual([T0 + 3600_000]);
    expect(p.skipped).toBeNull();
  });

  it('a skip count past the cap says so', () => {
    const p = planFires({ schedule: SECONDLY, cursor: T0, now: T0 + 86_400_000, graceMs: 0, policy: 'skip', maxFires: 10 });
    expect(p.skipped?.countCapped).toBe(true);
    expect(p.skipped?.to).toBe(T0 + 86_400_000);
    expect(p.fire).toEqual([]);
  });

  it('maxFires bounds one plan; the next plan continues from its cursor', () => {
    const a = planFires({ schedule: SECONDLY, cursor: T0, now: T0 + 10_000, graceMs: 60_000, policy: 'skip', maxFires: 3 });
    expect(a.fire).toEqual([T0 + 1000, T0 + 2000, T0 + 3000]);
    const b = planFires({ schedule: SECONDLY, cursor: a.cursor, now: T0 + 10_000, graceMs: 60_000, policy: 'skip', maxFires: 100 });
    expect(b.fire[0]).toBe(T0 + 4000);
    expect(b.fire.length).toBe(7);
  });

  it('property: across any sequence of plans every cron time is fired or skipped exactly once, in order', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('* * * * * *', '*/5 * * * * *', '* * * * *', '*/2 * * * *'),
        fc.constantFrom<'skip' | 'fire-once'>('skip', 'fire-once'),
        fc.integer({ min: 0, max: 120_000 }),
        fc.array(fc.integer({ min: 0, max: 400_000 }), { minLength: 1, maxLength: 25 }),
        fc.integer({ min: 1, max: 50 }),
        (cron, policy, graceMs, steps, maxFires) => {
          const schedule = { cron, timezone: 'UTC' };
          let now = T0;
          let cursor = T0;
          const fired: number[] = [];
          let skippedCount = 0;
          for (const step of steps) {
            now += step;
            const p = planFires({ schedule, cursor, now, graceMs, policy, maxFires });
            for (const t of p.fire) {
              expect(t).toBeGreaterThan(cursor);
              expect(t).toBeLessThanOrEqual(now);
            }
            if (p.skipped) {
              expect(p.skipped.from).toBeGreaterThan(cursor);
              expect(p.skipped.countCapped).toBe(false);
              skippedCount += p.skipped.count;
              if (p.fire.length > 0) expect(p.skipped.to).toBeLessThan(p.fire[0] as number);
            }
            fired.push(...p.fire);
            expect(p.cursor).toBeGreaterThanOrEqual(cursor);
            cursor = p.cursor;
          }
          for (let i = 1; i < fired.length; i++) expect(fired[i] as number).toBeGreaterThan(fired[i - 1] as number);
          const all = fireTimesBetween(schedule, { afterMs: T0, untilMs: cursor, max: 100_000 });
          expect(fired.length + skippedCount).toBe(all.length);
        },
      ),
      { numRuns: 150 },
    );
  });
});
