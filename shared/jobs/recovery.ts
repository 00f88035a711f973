/**
 * The scheduler's recovery duties, each a function it calls while it leads
 * (workers of a job also call promoteDue for their own retries, so backoff
 * works with no scheduler running). Every one is a read, then a multi
 * conditional on what it read, so two callers racing (an old and a new
 * leader) cannot both act on one run.
 *
 * requeueOrphans: inflight minus leases = attempts whose worker's session
 *   ended. Per orphan, conditional on its record version: delete inflight,
 *   and either re-queue at its lane's tail or dead-letter it. A claim group
 *   (claim-group.ts) is one inflight for many runs: each of its runs still
 *   active by that claim is re-queued so, one multi per run, the slots it
 *   reserved and never took go back on their lanes, then the group's
 *   inflight goes. A lost lease
 *   counts as a failed attempt (DROVER_WORKER_LOST) only once the run has
 *   stalled more than `maxStalls` times (JobSpec.maxStalls, default 2):
 *   a crash of the worker is not the run's fault, but a run that kills every
 *   worker that takes it must not circulate forever. Attempts never overlap:
 *   the old attempt's writes are fenced by the record version this moves.
 * promoteDue: delayed entries due by nowMs -> onto their lanes, one multi per
 *   chunk (record set at its version, entry deleted, lane appended).
 * pruneHistory: in each state directory of history, entries beyond the
 *   last `keep` or older than `maxAgeMs` go, each with its run record (a
 *   bundle's with its last entry), in one multi per chunk (history-prune.ts).
 * A bundle (docs/adr/0006-run-bundles.md) is one orphan, one delayed entry,
 *   one history entry per final state among its runs: the stall rule applies
 *   to each of its active runs, and settleBundle says where the bundle goes next.
 */
import type { Coordination, Op } from '../client/coordination.ts';
import type { BarrierState, BundleRecord, JobSpec, RunRecord } from './job-types.ts';
import { layout } from './layout.ts';
import { appendOps, commitWithRetry, readLaneTails, type AppendEntry } from './queue-append.ts';
import { encodeBundle, encodeRecord, type StoredRecord } from './run-codec.ts';
import { readRunView, readStored } from './run-lookup.ts';
import { newlyDeadOps, placementOps, settleBundle } from './bundle-settle.ts';
import { groupLeaveOps } from './run-group.ts';
import { MAX_STALLS_DEFAULT } from './define-job.ts';
import { appendAttempt, attemptEntry, BUNDLED_ATTEMPT_BOUNDS, RUN_ATTEMPT_BOUNDS, type AttemptBounds } from './attempt-history.ts';
import { childrenOrEmpty } from '../client/absent-ok.ts';
import { promotionOps } from './delayed-promotion.ts';
import { sortLegacyHistory } from './history-legacy.ts';
import { activeByClaim, decodeClaimGroup, type ClaimRange } from './claim-group.ts';
import { isClaimId } from './run-id.ts';
import { isZkError } from '../client/zk-error.ts';
import { pruneHistoryEntries } from './history-prune.ts';

const CHUNK_RUNS = 100;

/** The records under /runs/<job> with these names (a run's own or a bundle's), null when gone. */
function readRecords(client: Coordination, job: string, names: string[]): Promise<({ stored: StoredRecord; version: number } | null)[]> {
  return Promise.all(names.map((name) => readStored(client, job, name)));
}

/**
 * A run whose worker was lost mid-attempt: back to queued with a free
 * attempt while it has stalled at most maxStalls times, else a failed
 * attempt (DROVER_WORKER_LOST), dead when no attempts are left. Either way
 * the attempt goes into its history, with the log lines its worker wrote.
 */
function afterLostWorker(record: RunRecord, maxStalls: number, now: number, bounds: AttemptBounds): RunRecord {
  const stalls = (record.stalls ?? 0) + 1;
  const error = { code: 'DROVER_WORKER_LOST', message: `worker ${record.worker ?? '?'} was lost during attempt ${record.attempt}` };
  const counts = stalls > maxStalls;
  const attempts = appendAttempt(record.attempts, attemptEntry(record, { outcome: 'lost', finishedAt: now, error, free: !counts }, bounds), bounds);
  const next: RunRecord = { ...record, stalls, error, freeAttempts: (record.freeAttempts ?? 0) + (counts ? 0 : 1), attempts };
  delete next.worker;
  const attemptsUsed = next.attempt - (next.freeAttempts ?? 0);
  if (attemptsUsed >= next.maxAttempts) return { ...next, state: 'dead', finishedAt: now };
  return { ...next, state: 'queued' };
}

export interface OrphanReport {
  requeued: string[];
  dead: string[];
}

export async function requeueOrphans(client: Coordination, job: string, opts: { maxStalls?: number } = {}): Promise<OrphanReport> {
  const report: OrphanReport = { requeued: [], dead: [] };
  // Inflight first, then leases: a lease listed absent after its inflight was listed is gone for good.
  const inflight = await childrenOrEmpty(client, layout.inflight(job));
  if (inflight.length === 0) return report;
  const leases = new Set(await childrenOrEmpty(client, layout.leases(job)));
  const orphans = inflight.filter((r) => !leases.has(r));
  let maxStalls = opts.maxStalls;
  if (maxStalls === undefined) {
    try {
      const { data } = await client.get(layout.job(job));
      maxStalls = (JSON.parse(data.toString('utf8')) as JobSpec).maxStalls ?? MAX_STALLS_DEFAULT;
    } catch {
      maxStalls = MAX_STALLS_DEFAULT;
    }
  }
  const add = (done: { value: OrphanReport } | null): void => {
    if (!done) return;
    report.dead.push(...done.value.dead);
    report.requeued.push(...done.value.requeued);
  };
  for (const name of orphans) {
    if (isClaimId(name)) {
      await requeueClaimGroup(client, job, name, maxStalls!, add);
      continue;
    }
    const runId = name;
    add(
      await commitWithRetry(client, async () => {
        const [found] = await readRecords(client, job, [runId]);
        const stillInflight = await client.exists(layout.inflightRun(job, runId));
        if (!stillInflight) return null;
        // Re-claimed since the listing (a retry or a hand-back came round): a live attempt, not an
        // orphan. A claim after this read moves the record's version, which the multi checks.
        if (await client.exists(layout.lease(job, runId))) return null;
        const retryable = new Set<number>([0]);
        const inflight: Op = { op: 'delete', path: layout.inflightRun(job, runId) };
        if (!found) return { ops: [inflight], retryable, value: { dead: [] as string[], requeued: [] as string[] } };
        const now = Date.now();
        const { stored, version } = found;
        if (stored.kind === 'bundle') return orphanBundleOps(client, job, stored.bundle, version, maxStalls!, now);
        return lostRunOps(client, job, stored.record, version, maxStalls!, now, [inflight]);
      }),
    );
  }
  return report;
}

/** A run lost with its worker, conditional on its record at `version`: re-queued or dead-lettered (with `extra` ops in the multi). */
async function lostRunOps(client: Coordination, job: string, record: RunRecord, version: number, maxStalls: number, now: number, extra: Op[]) {
  const runId = record.id;
  const retryable = new Set<number>([0]);
  const next = afterLostWorker(record, maxStalls, now, RUN_ATTEMPT_BOUNDS);
  const ops: Op[] = [{ op: 'set', path: layout.run(job, runId), data: encodeRecord(next), version }, ...extra];
  if (next.state === 'dead') {
    ops.push({ op: 'create', path: layout.deadRun(job, runId) });
    if (next.group) ops.push(...(await groupLeaveOps(client, job, next.group.id, ops.length, retryable)));
  } else {
    const tails = await readLaneTails(client, job, [next.priority]);
    ops.push(...appendOps(job, tails, [{ runId, priority: next.priority }], ops.length, retryable));
  }
  return { ops, retryable, value: next.state === 'dead' ? { dead: [runId], requeued: [] } : { dead: [], requeued: [runId] } };
}

/**
 * A claim group whose lease is gone: each run it lists that is still active
 * by this claim (its worker, started at the claim's time) goes the way of a
 * lost run, one multi each, conditional on the record; the others finished
 * or moved on. Slots it reserved and had not taken go back on their lanes
 * (not an attempt: their runs never started). Then the inflight goes, at the
 * version read: a late take by the old session (its lease gone, its
 * connection not yet) changes it, and the group is read again. Two
 * recoverers racing meet on the records' versions and the items.
 */
async function requeueClaimGroup(client: Coordination, job: string, claimId: string, maxStalls: number, add: (done: { value: OrphanReport } | null) => void): Promise<void> {
  const path = layout.inflightRun(job, claimId);
  for (;;) {
    let data: Buffer;
    let version: number;
    try {
      ({ data, stat: { version } } = await client.get(path));
    } catch (err) {
      if (isZkError(err, 'NO_NODE')) return;
      throw err;
    }
    const info = decodeClaimGroup(data);
    for (const runId of info?.runs ?? []) {
      add(
        await commitWithRetry(client, async () => {
          const found = await readStored(client, job, runId);
          if (!info || !found || found.stored.kind !== 'run' || !activeByClaim(found.stored.record, info)) return null;
          return lostRunOps(client, job, found.stored.record, found.version, maxStalls, Date.now(), []);
        }),
      );
    }
    for (const range of info?.range ?? []) await putBackRange(client, job, range);
    try {
      await client.delete(path, version);
      return;
    } catch (err) {
      if (isZkError(err, 'NO_NODE')) return;
      if (!isZkError(err, 'BAD_VERSION')) throw err;
    }
  }
}

/** The items still in a dead claim's reserved range, moved to their lane's tail (their records untouched: never started). */
async function putBackRange(client: Coordination, job: string, range: ClaimRange): Promise<void> {
  await commitWithRetry(client, async () => {
    const items = await Promise.all(
      Array.from({ length: Math.max(0, range.to - range.from) }, async (_, i) => {
        const index = range.from + i;
        try {
          return { index, runId: (await client.get(layout.laneItem(job, range.priority, index))).data.toString('utf8') };
        } catch (err) {
          if (isZkError(err, 'NO_NODE')) return null;
          throw err;
        }
      }),
    );
    const left = items.filter((x): x is { index: number; runId: string } => x !== null);
    if (left.length === 0) return null;
    const retryable = new Set<number>();
    const ops: Op[] = left.map((x) => {
      retryable.add(retryable.size);
      return { op: 'delete', path: layout.laneItem(job, range.priority, x.index) } as Op;
    });
    const tails = await readLaneTails(client, job, [range.priority]);
    ops.push(...appendOps(job, tails, left.map((x) => ({ runId: x.runId, priority: range.priority })), ops.length, retryable));
    return { ops, retryable, value: null };
  });
}

/** An orphaned bundle: each active run through the stall rule, the rest kept, then settled. */
async function orphanBundleOps(client: Coordination, job: string, bundle: BundleRecord, version: number, maxStalls: number, now: number) {
  const retryable = new Set<number>([0]);
  const dead: string[] = [];
  const requeued: string[] = [];
  const runs = bundle.runs.map((r) => {
    if (r.state !== 'active') return r;
    const next = afterLostWorker(r, maxStalls, now, BUNDLED_ATTEMPT_BOUNDS);
    (next.state === 'dead' ? dead : requeued).push(r.id);
    return next;
  });
  const ops: Op[] = [{ op: 'delete', path: layout.inflightRun(job, bundle.id) }];
  if (bundle.state !== 'active') return { ops, retryable: new Set<number>([0]), value: { dead, requeued } };
  const settled = settleBundle({ ...bundle, runs }, now);
  ops.unshift({ op: 'set', path: layout.run(job, bundle.id), data: encodeBundle(settled.bundle), version });
  ops.push(...newlyDeadOps(job, bundle, settled.bundle));
  ops.push(...(await placementOps(client, job, settled, ops.length, retryable)));
  return { ops, retryable, value: { dead, requeued } };
}

/** The due time in a delayed entry's name `d-<dueMs13>-<runId>`. */
function parseDelayed(name: string): { due: number; runId: string } | null {
  const m = /^d-(\d{13})-(.+)$/.exec(name);
  return m?.[1] && m[2] ? { due: Number(m[1]), runId: m[2] } : null;
}

/** Promotes delayed runs due by nowMs; resolves to how many went onto the queue. */
export async function promoteDue(client: Coordination, job: string, nowMs: number): Promise<number> {
  let promoted = 0;
  for (;;) {
    const out = await commitWithRetry(client, async () => {
      const due = (await childrenOrEmpty(client, layout.delayed(job)))
        .map((name) => ({ name, parsed: parseDelayed(name) }))
        .filter((e): e is { name: string; parsed: { due: number; runId: string } } => e.parsed !== null && e.parsed.due <= nowMs)
        .sort((a, b) => a.name.localeCompare(b.name))
        .slice(0, CHUNK_RUNS);
      if (due.length === 0) return null;
      const records = await readRecords(client, job, due.map((d) => d.parsed.runId));
      const retryable = new Set<number>();
      const ops: Op[] = [];
      const ready: AppendEntry[] = [];
      due.forEach((d, i) => {
        const entry = promotionOps(job, `${layout.delayed(job)}/${d.name}`, d.parsed.runId, records[i] ?? null, ops, retryable);
        if (entry) ready.push(entry);
      });
      const tails = await readLaneTails(client, job, ready.map((r) => r.priority));
      ops.push(...appendOps(job, tails, ready, ops.length, retryable));
      return { ops, retryable, value: ready.length };
    });
    if (out === null) return promoted;
    promoted += out.value;
  }
}

/** The earliest due time among a job's delayed entries, or null. */
export async function nextDueMs(client: Coordination, job: string, watcher?: () => void): Promise<number | null> {
  const names = await childrenOrEmpty(client, layout.delayed(job), watcher);
  let min: number | null = null;
  for (const name of names) {
    const p = parseDelayed(name);
    if (p && (min === null || p.due < min)) min = p.due;
  }
  return min;
}

/**
 * Drops history beyond spec.history: per state directory, the entries past
 * the newest `keep` and those older than `maxAgeMs`, each with its record
 * (history-prune.ts). Entries of the layout before the split are sorted
 * into their state directories first (history-legacy.ts). Resolves to how
 * many entries were removed.
 */
export async function pruneHistory(client: Coordination, job: string, spec: Pick<JobSpec, 'history'>, nowMs: number): Promise<number> {
  await sortLegacyHistory(client, job);
  const removed = await pruneHistoryEntries(client, job, spec.history, nowMs);
  await dropStaleCancels(client, job);
  await dropFinishedGroups(client, job, nowMs - spec.history.maxAgeMs);
  return removed;
}

/**
 * Barrier run groups of this job that are done (every member left, the
 * follow-up enqueued) and untouched since `cutoff`: nothing will read them
 * again, so they go with the history of the same age.
 */
async function dropFinishedGroups(client: Coordination, job: string, cutoff: number): Promise<void> {
  const prefix = `${job}-`;
  const names = (await childrenOrEmpty(client, layout.barriers)).filter((n) => n.startsWith(prefix));
  await Promise.all(
    names.map(async (name) => {
      const path = `${layout.barriers}/${name}`;
      try {
        const { data, stat } = await client.get(path);
        const state = JSON.parse(data.toString('utf8')) as BarrierState;
        const done = state.v === 1 && state.left >= state.size && (state.then === undefined || state.followUp !== undefined);
        if (done && stat.mtime < cutoff) await client.delete(path, stat.version);
      } catch {
        // Not a run group of ours (a recipe's node), changed meanwhile, or gone: leave it.
      }
    }),
  );
}

/** Cancel requests whose run has ended (or is gone) meanwhile: nobody will consume them. */
async function dropStaleCancels(client: Coordination, job: string): Promise<void> {
  const names = await childrenOrEmpty(client, layout.cancels(job));
  if (names.length === 0) return;
  const views = await Promise.all(names.map((runId) => readRunView(client, job, runId)));
  await Promise.all(
    names.map(async (runId, i) => {
      const state = views[i]?.record.state;
      if (state === undefined || state === 'succeeded' || state === 'failed' || state === 'dead' || state === 'cancelled') {
        await client.delete(layout.cancel(job, runId)).catch(() => {});
      }
    }),
  );
}
