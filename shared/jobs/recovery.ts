/**
 * The scheduler's recovery duties, each a function it calls while it leads
 * (workers of a job also call promoteDue for their own retries, so backoff
 * works with no scheduler running). Every one is a read, then a multi
 * conditional on what it read, so two callers racing (an old and a new
 * leader) cannot both act on one run.
 *
 * requeueOrphans: inflight minus leases = attempts whose worker's session
 *   ended. Per orphan, conditional on its record version: delete inflight,
 *   and either re-queue at its lane's tail or dead-letter it. A lost lease
 *   counts as a failed attempt (DROVER_WORKER_LOST) only once the run has
 *   stalled more than `maxStalls` times (JobSpec.maxStalls, default 2):
 *   a crash of the worker is not the run's fault, but a run that kills every
 *   worker that takes it must not circulate forever. Attempts never overlap:
 *   the old attempt's writes are fenced by the record version this moves.
 * promoteDue: delayed entries due by nowMs -> onto their lanes, one multi per
 *   chunk (record set at its version, entry deleted, lane appended).
 * pruneHistory: history entries beyond the last `keep` or older than
 *   `maxAgeMs` go, each with its run record, in one multi per chunk.
 */
import type { Coordination, Op } from '../client/coordination.ts';
import { isZkError } from '../client/zk-error.ts';
import type { BarrierState, JobSpec, RunRecord } from './job-types.ts';
import { layout } from './layout.ts';
import { appendOps, commitWithRetry, readLaneTails, type AppendEntry } from './queue-append.ts';
import { decodeRecord, encodeRecord } from './run-codec.ts';
import { groupLeaveOps } from './run-group.ts';
import { MAX_STALLS_DEFAULT } from './define-job.ts';
import { childrenOrEmpty } from '../client/absent-ok.ts';

const CHUNK_RUNS = 100;

async function readRecords(client: Coordination, job: string, runIds: string[]): Promise<({ record: RunRecord; version: number } | null)[]> {
  return Promise.all(
    runIds.map(async (runId) => {
      try {
        const { data, stat } = await client.get(layout.run(job, runId));
        return { record: decodeRecord(data, layout.run(job, runId)), version: stat.version };
      } catch (err) {
        if (isZkError(err, 'NO_NODE')) return null;
        throw err;
      }
    }),
  );
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
  for (const runId of orphans) {
    const done = await commitWithRetry(client, async () => {
      const [found] = await readRecords(client, job, [runId]);
      const stillInflight = await client.exists(layout.inflightRun(job, runId));
      if (!stillInflight) return null;
      // Re-claimed since the listing (a retry or a hand-back came round): a live attempt, not an
      // orphan. A claim after this read moves the record's version, which the multi checks.
      if (await client.exists(layout.lease(job, runId))) return null;
      const retryable = new Set<number>([0]);
      if (!found) return { ops: [{ op: 'delete', path: layout.inflightRun(job, runId) } as Op], retryable, value: null };
      const { record, version } = found;
      const stalls = (record.stalls ?? 0) + 1;
      const now = Date.now();
      const error = { code: 'DROVER_WORKER_LOST', message: `worker ${record.worker ?? '?'} was lost during attempt ${record.attempt}` };
      const counts = stalls > maxStalls!;
      const next: RunRecord = { ...record, stalls, error, freeAttempts: (record.freeAttempts ?? 0) + (counts ? 0 : 1) };
      delete next.worker;
      const ops: Op[] = [];
      const attemptsUsed = next.attempt - (next.freeAttempts ?? 0);
      const dead = attemptsUsed >= next.maxAttempts;
      if (dead) {
        Object.assign(next, { state: 'dead', finishedAt: now });
        ops.push({ op: 'set', path: layout.run(job, runId), data: encodeRecord(next), version });
        ops.push({ op: 'delete', path: layout.inflightRun(job, runId) });
        ops.push({ op: 'create', path: layout.deadRun(job, runId) });
        if (next.group) ops.push(...(await groupLeaveOps(client, job, next.group.id, ops.length, retryable)));
      } else {
        next.state = 'queued';
        ops.push({ op: 'set', path: layout.run(job, runId), data: encodeRecord(next), version });
        ops.push({ op: 'delete', path: layout.inflightRun(job, runId) });
        const tails = await readLaneTails(client, job, [next.priority]);
        ops.push(...appendOps(job, tails, [{ runId, priority: next.priority }], ops.length, retryable));
      }
      return { ops, retryable, value: dead ? ('dead' as const) : ('requeued' as const) };
    });
    if (done?.value === 'dead') report.dead.push(runId);
    else if (done?.value === 'requeued') report.requeued.push(runId);
  }
  return report;
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
        retryable.add(ops.length);
        ops.push({ op: 'delete', path: `${layout.delayed(job)}/${d.name}` });
        const found = records[i];
        if (!found || found.record.state !== 'delayed') return; // cancelled meanwhile: just drop the entry
        const next: RunRecord = { ...found.record, state: 'queued' };
        delete next.dueAt;
        retryable.add(ops.length);
        ops.push({ op: 'set', path: layout.run(job, d.parsed.runId), data: encodeRecord(next), version: found.version });
        ready.push({ runId: d.parsed.runId, priority: next.priority });
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

/** Drops history beyond spec.history (count and age); resolves to how many runs were removed. */
export async function pruneHistory(client: Coordination, job: string, spec: Pick<JobSpec, 'history'>, nowMs: number): Promise<number> {
  const names = (await childrenOrEmpty(client, layout.history(job))).filter((n) => /^h-\d{13}-/.test(n)).sort();
  const cutoff = nowMs - spec.history.maxAgeMs;
  const excess = Math.max(0, names.length - spec.history.keep);
  const drop = names.filter((name, i) => i < excess || Number(name.slice(2, 15)) < cutoff);
  let removed = 0;
  for (let i = 0; i < drop.length; i += CHUNK_RUNS) {
    const chunk = drop.slice(i, i + CHUNK_RUNS);
    const ops: Op[] = chunk.flatMap((name) => [
      { op: 'delete', path: `${layout.history(job)}/${name}` } as Op,
      { op: 'delete', path: layout.run(job, name.slice(16)) } as Op,
    ]);
    try {
      await client.multi(ops);
      removed += chunk.length;
    } catch {
      // Someone else pruned (or a record is already gone): go one by one, tolerating NO_NODE.
      for (const name of chunk) {
        await client.delete(`${layout.history(job)}/${name}`).catch(() => {});
        await client.delete(layout.run(job, name.slice(16))).catch(() => {});
        removed++;
      }
    }
  }
  await dropStaleCancels(client, job);
  await dropFinishedGroups(client, job, cutoff);
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
  const records = await readRecords(client, job, names);
  await Promise.all(
    names.map(async (runId, i) => {
      const state = records[i]?.record.state;
      if (state === undefined || state === 'succeeded' || state === 'failed' || state === 'dead' || state === 'cancelled') {
        await client.delete(layout.cancel(job, runId)).catch(() => {});
      }
    }),
  );
}
