/**
 * Fires the cron schedules of every job while this scheduler leads. One
 * JobCron per scheduled job: a serialized tick reads the stored state,
 * plans (fire-plan.ts, with this machine's clock), writes each decision
 * (schedule-store.ts), and sets one timer for the next fire time. Any
 * write that loses a race re-reads and plans again, so the stored cursor,
 * never this process's memory, decides what comes next.
 */
import type { Logger } from 'pino';
import type { Coordination } from '../../shared/client/coordination.ts';
import type { JobSpec } from '../../shared/jobs/job-types.ts';
import { SerialRunner } from '../../shared/recipes/serial-runner.ts';
import { nextFireTime, validateSchedule, type CronSchedule } from './cron-schedule.ts';
import { planFires } from './fire-plan.ts';
import { advanceCursor, fireOnce, FIRES_KEEP, pruneFires, readSchedule, recordSkip, resetSchedule } from './schedule-store.ts';

export interface CronDriverOptions {
  client: Coordination;
  workerId: string;
  logger: Logger;
  /** Fire times older than this when first seen are misfires (the policy decides). */
  misfireGraceMs: number;
  now: () => number;
}

/** Fires per tick before yielding to the other jobs (the rest come in the next tick, at once). */
const FIRES_PER_TICK_MAX = 50;
/** Re-plan at least this often even with a far next fire time, so a clock jump is noticed. */
const TIMER_MS_MAX = 60_000;
/** After a failed tick (connection loss, a job vanished), retry after this. */
const TICK_RETRY_MS = 1_000;
/** Rounds of lost races one tick tolerates before waiting for the retry timer. */
const RACE_ROUNDS_MAX = 20;

export class CronDriver {
  private readonly jobs = new Map<string, JobCron>();
  private stopped = false;

  constructor(private readonly opts: CronDriverOptions) {}

  /** Adds, updates and removes per-job crons to match the specs. */
  update(specs: readonly JobSpec[]): void {
    if (this.stopped) return;
    const wanted = new Map(specs.filter((s) => s.schedule).map((s) => [s.name, s]));
    for (const [name, cron] of this.jobs) {
      if (!wanted.has(name)) {
        cron.stop();
        this.jobs.delete(name);
      }
    }
    for (const [name, spec] of wanted) {
      const existing = this.jobs.get(name);
      if (existing) existing.setSpec(spec);
      else {
        const cron = new JobCron(spec, this.opts);
        this.jobs.set(name, cron);
        cron.trigger();
      }
    }
  }

  stop(): void {
    this.stopped = true;
    for (const cron of this.jobs.values()) cron.stop();
    this.jobs.clear();
  }
}

class JobCron {
  private readonly runner: SerialRunner;
  private readonly log: Logger;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private firesSincePrune = FIRES_KEEP; // prune on the first tick of a term
  private invalid: string | null = null;

  constructor(
    private spec: JobSpec,
    private readonly opts: CronDriverOptions,
  ) {
    this.log = opts.logger.child({ job: spec.name });
    this.runner = new SerialRunner(
      () => this.tick(),
      (err) => {
        this.log.warn({ err }, 'cron tick failed; retrying');
        this.arm(TICK_RETRY_MS);
      },
    );
  }

  setSpec(spec: JobSpec): void {
    const changed = spec.schedule !== this.spec.schedule || spec.timezone !== this.spec.timezone || spec.misfire !== this.spec.misfire;
    this.spec = spec;
    if (changed) {
      this.invalid = null;
      this.trigger();
    }
  }

  trigger(): void {
    if (!this.stopped) this.runner.trigger();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(delayMs: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.trigger();
    }, Math.max(0, Math.min(TIMER_MS_MAX, delayMs)));
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    if (this.stopped || !this.spec.schedule) return;
    const { client, workerId: by, now } = this.opts;
    const spec = this.spec;
    const schedule: CronSchedule = { cron: spec.schedule as string, timezone: spec.timezone ?? 'UTC' };
    try {
      validateSchedule(schedule);
    } catch (err) {
      const key = `${schedule.cron}@${schedule.timezone}`;
      if (this.invalid !== key) this.log.error({ err, cron: schedule.cron, timezone: schedule.timezone }, 'schedule does not parse; not firing it');
      this.invalid = key;
      return;
    }
    for (let round = 0; round < RACE_ROUNDS_MAX; round++) {
      if (this.stopped) return;
      const read = await readSchedule(client, spec.name);
      if (!read?.state || read.state.cron !== schedule.cron || read.state.timezone !== schedule.timezone) {
        const next = nextFireTime(schedule, now());
        const r = await resetSchedule(client, { spec, cron: schedule.cron, timezone: schedule.timezone, nextFireTime: next, by, existing: read });
        if (r === 'written') this.log.info({ cron: schedule.cron, timezone: schedule.timezone, next, previous: read?.state?.cron }, 'schedule registered');
        continue;
      }
      const stored = { state: read.state, version: read.version };
      const { state } = stored;
      const cursor = state.lastFireTime ?? (state.nextFireTime !== undefined ? state.nextFireTime - 1 : now());
      const policy = spec.misfire ?? 'fire-once';
      const plan = planFires({ schedule, cursor, now: now(), graceMs: this.opts.misfireGraceMs, policy, maxFires: FIRES_PER_TICK_MAX });
      let raced = false;
      if (plan.skipped) {
        const skipped = plan.skipped;
        const r = await recordSkip(client, { spec, stored, skipped, nextFireTime: nextFireTime(schedule, skipped.to), by, now: now() });
        if (r === 'written') this.log.warn({ ...skipped, policy }, 'misfire: fire times passed while no scheduler ran; skipped');
        else raced = true;
      }
      for (const fireTime of raced ? [] : plan.fire) {
        if (this.stopped) return;
        const next = nextFireTime(schedule, fireTime);
        const r = await fireOnce(client, { spec, stored, fireTime, nextFireTime: next, by, now: now() });
        if (r === 'written') {
          this.firesSincePrune++;
          this.log.info({ fireTime, lateMs: now() - fireTime }, 'cron fired');
          continue;
        }
        if (r === 'already-decided') {
          this.log.warn({ fireTime }, 'fire time already decided; moving past it');
          await advanceCursor(client, { job: spec.name, stored, fireTime, nextFireTime: next, by });
        }
        raced = true;
        break;
      }
      if (raced) continue;
      if (this.firesSincePrune >= FIRES_KEEP / 5) {
        this.firesSincePrune = 0;
        await pruneFires(client, spec.name);
      }
      if (plan.fire.length >= FIRES_PER_TICK_MAX) this.arm(0);
      else if (plan.next !== undefined) this.arm(plan.next - now());
      return;
    }
    this.arm(TICK_RETRY_MS);
  }
}
