/**
 * schedules/<job> (ScheduleState) and schedules/<job>/fires/f-<T>: the
 * scheduler's durable memory of what it fired. Each decision is one multi
 * with a compare-and-set on the state's version:
 *
 *   fire T   create fires/f-<T> {runId}, set state {lastFireTime: T} @v,
 *            plus the run itself (C's enqueueWith puts these first in its multi)
 *   skip     create fires/f-<to> {skipped}, set state {lastFireTime: to, lastSkip} @v
 *
 * NODE_EXISTS on the fire record means T was decided already (by us before
 * a crash, or by the previous leader); BAD_VERSION means the state moved
 * under us. Either way nothing was written and the caller re-reads: a new
 * leader can neither fire T twice nor skip it unrecorded.
 */
import type { Coordination, Op } from '../../shared/client/coordination.ts';
import { ZkError, isZkError } from '../../shared/client/zk-error.ts';
import { enqueueWith } from '../../shared/jobs/enqueue.ts';
import type { JobSpec, ScheduleState } from '../../shared/jobs/job-types.ts';
import { layout } from '../../shared/jobs/layout.ts';
import { decodeJson, encodeJson } from '../../shared/jobs/run-codec.ts';
import { newRunId } from '../../shared/jobs/run-id.ts';
import type { SkippedRange } from './fire-plan.ts';
import { childrenOrEmpty } from '../../shared/client/absent-ok.ts';

/** Fire records kept per job (older ones are pruned; the state's cursor is what guards). */
export const FIRES_KEEP = 100;

export interface StoredSchedule {
  state: ScheduleState;
  version: number;
}

/** What readSchedule finds: no node, a node without state yet, or a state. */
export interface ReadSchedule {
  state: ScheduleState | null;
  version: number;
}

/** What a fire record holds. */
export type FireRecord =
  | { v: 1; kind: 'fired'; fireTime: number; runId: string; by: string; at: number }
  | { v: 1; kind: 'skipped'; from: number; to: number; count: number; countCapped: boolean; by: string; at: number };

/** Outcome of one decision: written, or lost to someone else (re-read and plan again). */
export type DecisionResult = 'written' | 'already-decided' | 'state-moved';

export async function readSchedule(client: Coordination, job: string): Promise<ReadSchedule | null> {
  try {
    const { data, stat } = await client.get(layout.schedule(job));
    // An empty node is a parent someone made (ensurePath of fires/) before any state: no state yet.
    if (data.length === 0) return { state: null, version: stat.version };
    return { state: decodeJson<ScheduleState>(data, `schedule ${job}`), version: stat.version };
  } catch (err) {
    if (isZkError(err, 'NO_NODE')) return null;
    throw err;
  }
}

/**
 * Creates or resets the state for a schedule (a new job, or its cron/zone
 * changed): fire times start at `nextFireTime`, nothing before is caught up.
 */
export async function resetSchedule(
  client: Coordination,
  opts: { spec: JobSpec; cron: string; timezone: string; nextFireTime: number | undefined; by: string; existing: ReadSchedule | null },
): Promise<DecisionResult> {
  const state: ScheduleState = {
    v: 1,
    cron: opts.cron,
    timezone: opts.timezone,
    misfire: opts.spec.misfire ?? 'fire-once',
    ...(opts.nextFireTime !== undefined ? { nextFireTime: opts.nextFireTime } : {}),
    updatedBy: opts.by,
  };
  try {
    if (opts.existing) await client.set(layout.schedule(opts.spec.name), encodeJson(state), opts.existing.version);
    else {
      await client.ensurePath(layout.schedules);
      await client.create(layout.schedule(opts.spec.name), encodeJson(state));
    }
  } catch (err) {
    if (isZkError(err, 'BAD_VERSION') || isZkError(err, 'NODE_EXISTS') || isZkError(err, 'NO_NODE')) return 'state-moved';
    throw err;
  }
  await client.ensurePath(layout.fires(opts.spec.name));
  return 'written';
}

function lostRace(err: unknown): DecisionResult | null {
  if (!(err instanceof ZkError) || err.opIndex === undefined) return null;
  if (err.opIndex === 0 && err.is('NODE_EXISTS')) return 'already-decided';
  if (err.opIndex === 1 && (err.is('BAD_VERSION') || err.is('NO_NODE'))) return 'state-moved';
  return null;
}

/**
 * Writes one decision: `write` runs a multi that starts with the fire record
 * at `fireTime` and the state @stored.version (the op indexes lostRace reads).
 * On success `stored` follows the write.
 */
async function writeDecision(
  stored: StoredSchedule,
  decision: { job: string; fireTime: number; record: FireRecord; state: ScheduleState },
  write: (ops: Op[]) => Promise<unknown>,
): Promise<DecisionResult> {
  try {
    await write([
      { op: 'create', path: layout.fire(decision.job, decision.fireTime), data: encodeJson(decision.record) },
      { op: 'set', path: layout.schedule(decision.job), data: encodeJson(decision.state), version: stored.version },
    ]);
  } catch (err) {
    const lost = lostRace(err);
    if (lost) return lost;
    throw err;
  }
  stored.state = decision.state;
  stored.version += 1; // a successful set bumps the version by exactly one
  return 'written';
}

/** Fires T: the run, its fire record and the advanced state in one multi. */
export async function fireOnce(
  client: Coordination,
  opts: { spec: JobSpec; stored: StoredSchedule; fireTime: number; nextFireTime: number | undefined; by: string; now: number },
): Promise<DecisionResult> {
  const { spec, stored, fireTime } = opts;
  const runId = newRunId(opts.now);
  const record: FireRecord = { v: 1, kind: 'fired', fireTime, runId, by: opts.by, at: opts.now };
  const { nextFireTime: _drop, ...rest } = stored.state;
  const state: ScheduleState = {
    ...rest,
    lastFireTime: fireTime,
    ...(opts.nextFireTime !== undefined ? { nextFireTime: opts.nextFireTime } : {}),
    updatedBy: opts.by,
  };
  return writeDecision(stored, { job: spec.name, fireTime, record, state }, (ops) =>
    enqueueWith(client, spec.name, [{ input: spec.scheduleInput ?? null, opts: { fireTime, runId } }], ops),
  );
}

/** Records a misfire the policy skips, and moves the cursor past it, in one multi. */
export async function recordSkip(
  client: Coordination,
  opts: { spec: JobSpec; stored: StoredSchedule; skipped: SkippedRange; nextFireTime: number | undefined; by: string; now: number },
): Promise<DecisionResult> {
  const { spec, stored, skipped } = opts;
  const record: FireRecord = { v: 1, kind: 'skipped', ...skipped, by: opts.by, at: opts.now };
  const { nextFireTime: _drop, ...rest } = stored.state;
  const state: ScheduleState = {
    ...rest,
    lastFireTime: skipped.to,
    ...(opts.nextFireTime !== undefined ? { nextFireTime: opts.nextFireTime } : {}),
    lastSkip: { ...skipped, at: opts.now },
    updatedBy: opts.by,
  };
  return writeDecision(stored, { job: spec.name, fireTime: skipped.to, record, state }, (ops) => client.multi(ops));
}

/**
 * Moves the cursor past T without firing: for a fire record found with no
 * state behind it (a state reset while old records remained).
 */
export async function advanceCursor(
  client: Coordination,
  opts: { job: string; stored: StoredSchedule; fireTime: number; nextFireTime: number | undefined; by: string },
): Promise<DecisionResult> {
  const { nextFireTime: _drop, ...rest } = opts.stored.state;
  const state: ScheduleState = {
    ...rest,
    lastFireTime: opts.fireTime,
    ...(opts.nextFireTime !== undefined ? { nextFireTime: opts.nextFireTime } : {}),
    updatedBy: opts.by,
  };
  try {
    await client.set(layout.schedule(opts.job), encodeJson(state), opts.stored.version);
  } catch (err) {
    if (isZkError(err, 'BAD_VERSION') || isZkError(err, 'NO_NODE')) return 'state-moved';
    throw err;
  }
  return 'written';
}

/** The fire time in a fire record's name (f-<13 digits>). */
export function fireTimeOf(name: string): number {
  const m = /^f-(\d{13})$/.exec(name);
  return m?.[1] ? Number(m[1]) : Number.NaN;
}

/** Deletes all but the newest `keep` fire records; returns how many went. */
export async function pruneFires(client: Coordination, job: string, keep = FIRES_KEEP): Promise<number> {
  const names = await childrenOrEmpty(client, layout.fires(job));
  if (names.length <= keep) return 0;
  const old = names
    .filter((n) => !Number.isNaN(fireTimeOf(n)))
    .sort((a, b) => fireTimeOf(a) - fireTimeOf(b))
    .slice(0, Math.max(0, names.length - keep));
  // One multi per 200 deletes; a record already gone (NO_NODE) fails its batch, so fall back to one by one.
  for (let i = 0; i < old.length; i += 200) {
    const batch = old.slice(i, i + 200);
    try {
      await client.multi(batch.map((n) => ({ op: 'delete' as const, path: `${layout.fires(job)}/${n}` })));
    } catch (err) {
      if (!isZkError(err, 'NO_NODE')) throw err;
      for (const n of batch) await client.delete(`${layout.fires(job)}/${n}`).catch((e: unknown) => { if (!isZkError(e, 'NO_NODE')) throw e; });
    }
  }
  return old.length;
}

/** Reads every fire record of a job, oldest first (for tests and the dashboard). */
export async function readFires(client: Coordination, job: string): Promise<FireRecord[]> {
  const names = await childrenOrEmpty(client, layout.fires(job));
  names.sort((a, b) => fireTimeOf(a) - fireTimeOf(b));
  const out: FireRecord[] = [];
  for (const n of names) {
    try {
      out.push(decodeJson<FireRecord>((await client.get(`${layout.fires(job)}/${n}`)).data, `fire ${n}`));
    } catch (err) {
      if (!isZkError(err, 'NO_NODE')) throw err;
    }
  }
  return out;
}

