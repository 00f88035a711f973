/**
 * What operators do to runs and jobs (the dashboard and CLI call these):
 * read a run, list runs, cancel, retry, promote, pause and resume. Each action is one
 * multi conditional on the record version it read, so it cannot race a
 * worker's claim or finish into an inconsistent state. A bundled run
 * (`<bundleId>.<k>`, docs/adr/0006-run-bundles.md) is read and written in
 * its bundle's record (bundle-admin.ts has those plans).
 */
import type { Coordination, Op } from '../client/coordination.ts';
import { isZkError, ZkError } from '../client/zk-error.ts';
import { DroverError } from '../errors.ts';
import type { RunRecord, RunState } from './job-types.ts';
import { ensureJobDirs, readJobSpec } from './job-dirs.ts';
import { HISTORY_STATES, layout, laneOf } from './layout.ts';
import { mergeNames } from './history-entries.ts';
import { appendOps, commitWithRetry, readLaneTails } from './queue-append.ts';
import { decodeCounter, decodeStored, encodeRecord, type StoredRecord } from './run-codec.ts';
import { promotionOps } from './delayed-promotion.ts';
import { groupLeaveOps } from './run-group.ts';
import { readRunView, runsOf, type RunView } from './run-lookup.ts';
import { splitBundledRunId } from './run-id.ts';
import { activeByClaim, expandInflight, type ClaimGroupInfo } from './claim-group.ts';
import { bundledCancelPlan, bundledRetryPlan, type BundledView } from './bundle-admin.ts';
import { childrenOrEmpty, deleteIfPresent } from '../client/absent-ok.ts';

async function readRun(client: Coordination, job: string, runId: string): Promise<RunView> {
  const view = await readRunView(client, job, runId);
  if (view === null) throw new DroverError('DROVER_RUN_NOT_FOUND', `no run ${runId} of job '${job}' (finished runs are pruned from history)`, { details: { job, runId } });
  return view;
}

function isBundled(view: RunView): view is BundledView {
  return view.bundle !== undefined;
}

export async function getRun(client: Coordination, job: string, runId: string): Promise<RunRecord> {
  return (await readRun(client, job, runId)).record;
}

export type CancelOutcome = 'cancelled' | 'cancel-requested';

/**
 * Cancels a run: a queued, delayed or barrier-waiting run is marked cancelled
 * at once (its queue item is dropped when a claimer reaches it); an active
 * run gets a cancel request its worker watches for (ctx.signal aborts, the
 * run ends cancelled). A finished run: DROVER_RUN_STATE. A bundled run
 * waiting in a bundle a worker holds also gets a cancel request (the next
 * claim of the bundle marks it cancelled): see bundledCancelPlan.
 */
export async function cancelRun(client: Coordination, job: string, runId: string): Promise<CancelOutcome> {
  const out = await commitWithRetry(client, async () => {
    const view = await readRun(client, job, runId);
    // History's state directories: a job whose runs only an older version wrote may not have them yet.
    await ensureJobDirs(client, job);
    const now = Date.now();
    if (isBundled(view)) {
      const plan = await bundledCancelPlan(client, job, runId, view, now);
      return { ...plan, value: plan.value === 'request' ? ('active' as const) : plan.value };
    }
    const { record, version } = view;
    if (record.state === 'active') return { ops: [], retryable: new Set<number>(), value: 'active' as const };
    if (record.state !== 'queued' && record.state !== 'delayed' && record.state !== 'waiting-barrier') {
      throw new DroverError('DROVER_RUN_STATE', `run ${runId} is ${record.state}; only queued, delayed or active runs can be cancelled`, { details: { job, runId, state: record.state } });
    }
    const next: RunRecord = { ...record, state: 'cancelled', finishedAt: now, error: { code: 'DROVER_CANCELLED', message: 'cancelled before it ran' } };
    const ops: Op[] = [{ op: 'set', path: layout.run(job, runId), data: encodeRecord(next), version }];
    if (record.state === 'delayed' && record.dueAt !== undefined) ops.push({ op: 'delete', path: layout.delayedRun(job, record.dueAt, runId) });
    ops.push({ op: 'create', path: layout.historyEntry(job, 'cancelled', now, runId) });
    const retryable = new Set([0, 1]);
    // A cancelled member has left its group: the follow-up must not wait for it forever.
    if (record.group) ops.push(...(await groupLeaveOps(client, job, record.group.id, ops.length, retryable)));
    return { ops, retryable, value: 'cancelled' as const };
  });
  if (out?.value === 'cancelled') return 'cancelled';
  try {
    await client.create(layout.cancel(job, runId));
  } catch (err) {
    if (!isZkError(err, 'NODE_EXISTS')) throw err;
  }
  return 'cancel-requested';
}

/**
 * Runs a dead, failed or cancelled run again with a fresh attempt budget
 * (the attempt counter keeps counting): one multi sets the record queued,
 * drops its dead-letter or history entry and appends it to its lane. A
 * bundled run: only while its bundle is not held (else DROVER_RUN_STATE);
 * a done bundle goes back to its lane (bundledRetryPlan).
 */
export async function retryRun(client: Coordination, job: string, runId: string): Promise<void> {
  await commitWithRetry(client, async () => {
    const view = await readRun(client, job, runId);
    if (isBundled(view)) return bundledRetryPlan(client, job, runId, view, Date.now());
    const { record, version } = view;
    if (record.state !== 'dead' && record.state !== 'failed' && record.state !== 'cancelled') {
      throw new DroverError('DROVER_RUN_STATE', `run ${runId} is ${record.state}; only dead, failed or cancelled runs can be retried`, { details: { job, runId, state: record.state } });
    }
    const next = requeuedForRetry(record);
    const ops: Op[] = [{ op: 'set', path: layout.run(job, runId), data: encodeRecord(next), version }];
    if (record.state === 'dead') ops.push({ op: 'delete', path: layout.deadRun(job, runId) });
    else if (record.finishedAt !== undefined) {
      const entry = layout.historyEntry(job, record.state, record.finishedAt, runId);
      if (await client.exists(entry)) ops.push({ op: 'delete', path: entry });
    }
    const retryable = new Set<number>([0]);
    const tails = await readLaneTails(client, job, [next.priority]);
    ops.push(...appendOps(job, tails, [{ runId, priority: next.priority }], ops.length, retryable));
    return { ops, retryable, value: null };
  });
}

/** A finished run as a retry queues it: a fresh attempt budget (the attempt counter keeps counting), its outcome cleared. */
export function requeuedForRetry(record: RunRecord): RunRecord {
  const next: RunRecord = { ...record, state: 'queued', freeAttempts: record.attempt };
  delete next.finishedAt;
  delete next.error;
  delete next.result;
  return next;
}

/**
 * Makes a delayed run claimable now (BullMQ's Job.promote): its delayed
 * entry goes onto its lane as promoteDue would move it at its due time
 * (delayed-promotion.ts, one multi). A bundled run brings its whole bundle,
 * which waits as one. A run that is not delayed: DROVER_RUN_STATE — unless
 * it turned queued while we raced a promoter, which is what was asked.
 */
export async function promoteRun(client: Coordination, job: string, runId: string): Promise<void> {
  await commitWithRetry(client, async (attempt) => {
    const view = await readRun(client, job, runId);
    const holder = view.bundle?.record ?? view.record;
    if (view.record.state !== 'delayed' || holder.state !== 'delayed' || holder.dueAt === undefined) {
      if (attempt > 0 && view.record.state === 'queued') return null;
      throw new DroverError('DROVER_RUN_STATE', `run ${runId} is ${view.record.state}; only delayed runs can be promoted`, { details: { job, runId, state: view.record.state } });
    }
    const stored: StoredRecord = view.bundle ? { kind: 'bundle', bundle: view.bundle.record } : { kind: 'run', record: view.record };
    const ops: Op[] = [];
    const retryable = new Set<number>();
    const entry = promotionOps(job, layout.delayedRun(job, holder.dueAt, holder.id), holder.id, { stored, version: view.version }, ops, retryable);
    if (entry) ops.push(...appendOps(job, await readLaneTails(client, job, [entry.priority]), [entry], ops.length, retryable));
    return { ops, retryable, value: null };
  });
}

export async function pauseJob(client: Coordination, job: string): Promise<void> {
  await readJobSpec(client, job);
  try {
    await client.create(layout.jobPaused(job));
  } catch (err) {
    if (!isZkError(err, 'NODE_EXISTS')) throw err;
  }
}

export async function resumeJob(client: Coordination, job: string): Promise<void> {
  await readJobSpec(client, job);
  await deleteIfPresent(client, layout.jobPaused(job));
}

export async function isPaused(client: Coordination, job: string): Promise<boolean> {
  return (await client.exists(layout.jobPaused(job))) !== null;
}

/**
 * Lane items waiting per priority lane (tail - head), without listing any
 * items. A bundle is one item however many runs it holds (reading every
 * bundle record would cost what this exists to avoid); listRuns('queued')
 * gives the runs.
 */
export async function queueDepth(client: Coordination, job: string): Promise<{ total: number; lanes: { priority: number; depth: number; tail: number }[] }> {
  const names = await childrenOrEmpty(client, layout.lanes(job));
  const priorities = names.map(laneOf).filter((n) => !Number.isNaN(n)).sort((a, b) => a - b);
  const lanes = await Promise.all(
    priorities.map(async (priority) => {
      const [head, tail] = await Promise.all([client.get(layout.laneHead(job, priority)), client.get(layout.laneTail(job, priority))]);
      const t = decodeCounter(tail.data, 'tail');
      // tail counts every item ever appended to the lane: a rate of enqueues is its change over time.
      return { priority, depth: t - decodeCounter(head.data, 'head'), tail: t };
    }),
  );
  return { total: lanes.reduce((s, l) => s + l.depth, 0), lanes };
}

export type RunListing = 'queued' | 'active' | 'delayed' | 'history' | 'dead' | 'all';

/** The runs a listed name stands for: a bundle's runs, or one run (bundled or not); [] when gone or unreadable. */
async function runsNamed(client: Coordination, job: string, id: string): Promise<RunRecord[]> {
  try {
    if (splitBundledRunId(id) !== null) {
      const view = await readRunView(client, job, id);
      return view ? [view.record] : [];
    }
    const { data } = await client.get(layout.run(job, id));
    return runsOf(decodeStored(data, layout.run(job, id)));
  } catch (err) {
    if (err instanceof DroverError || err instanceof ZkError) return [];
    throw err;
  }
}

/**
 * The run ids the inflight names stand for, in name order: a claim group's
 * runs by run id (one read per group: O(open claims), as job counts read
 * them), else the name. Each group run's claims go with it, for the caller
 * to show the run only while it is still active by one.
 */
async function activeIds(client: Coordination, job: string, names: readonly string[]): Promise<{ ids: string[]; claims: Map<string, ClaimGroupInfo[]> }> {
  const ids: string[] = [];
  const claims = new Map<string, ClaimGroupInfo[]>();
  for (const { name, runs, claim } of await expandInflight(client, job, names)) {
    if (runs === null) ids.push(name);
    else ids.push(...[...runs].sort());
    // A run re-queued from a lost group and claimed again may be in two for a moment: once, by either.
    if (claim) for (const id of claim.runs) claims.set(id, [...(claims.get(id) ?? []), claim]);
  }
  return { ids: [...new Set(ids)], claims };
}

/** False for a run a claim group listed that is no longer active by it (any group, for one in two for a moment). */
function stillClaimed(r: RunRecord, claims: ReadonlyMap<string, readonly ClaimGroupInfo[]>): boolean {
  const by = claims.get(r.id);
  return by === undefined || by.some((claim) => activeByClaim(r, claim));
}

/**
 * Lists runs' records: queued (head first, per lane), active (inflight),
 * delayed (by due time), history (newest first), dead, or all (by record
 * name). A bundle listed expands into its runs, in order, and a claim
 * group (claim-group.ts) into its runs still active by it. `state` filters
 * per run. `limit` (default 100) bounds both the runs returned and the
 * records read (as before bundles, a filter applies to what was read; a
 * group's run that is no longer active by it is read past, not counted).
 */
export async function listRuns(client: Coordination, job: string, opts: { which?: RunListing; limit?: number; state?: RunState } = {}): Promise<RunRecord[]> {
  const which = opts.which ?? 'all';
  const limit = opts.limit ?? 100;
  const names = async (path: string): Promise<string[]> => (await childrenOrEmpty(client, path)).sort();
  let ids: string[];
  // Runs of claim groups (active): shown only while still active by their claim.
  let claims = new Map<string, ClaimGroupInfo[]>();
  switch (which) {
    case 'queued': {
      ids = [];
      const depth = await queueDepth(client, job);
      for (const lane of depth.lanes) {
        const head = decodeCounter((await client.get(layout.laneHead(job, lane.priority))).data, 'head');
        // Each item is at least one run: `limit` items are enough.
        const n = Math.min(lane.depth, limit - ids.length);
        const items = await Promise.all(
          Array.from({ length: n }, (_, i) => client.get(layout.laneItem(job, lane.priority, head + i)).then((r) => r.data.toString('utf8'), () => null)),
        );
        ids.push(...items.filter((x): x is string => x !== null));
      }
      break;
    }
    case 'active':
      ({ ids, claims } = await activeIds(client, job, await names(layout.inflight(job))));
      break;
    case 'delayed':
      ids = (await names(layout.delayed(job))).map((n) => n.slice(16));
      break;
    case 'history':
      // Newest first across the state directories; a bundle's entries share a name: listed once.
      ids = mergeNames(await Promise.all(HISTORY_STATES.map((s) => names(layout.historyDir(job, s)))))
        .reverse()
        .map((n) => n.slice(16));
      break;
    case 'dead':
      ids = await names(layout.dead(job));
      break;
    case 'all':
      ids = await names(layout.runs(job));
      break;
  }
  const out: RunRecord[] = [];
  // Records read: `limit`, plus one per run a claim group listed that is no longer active by it (it
  // finished, its group's list not yet rewritten): such a run was never this listing's to show.
  let readable = Math.min(ids.length, limit);
  // Batches sized to what is still missing: a listing of bundles stops reading once it has `limit` runs.
  for (let next = 0; next < readable && out.length < limit; ) {
    const batch = ids.slice(next, Math.min(readable, next + (limit - out.length)));
    next += batch.length;
    const found = await Promise.all(batch.map((id) => runsNamed(client, job, id)));
    for (const runs of found) {
      for (const r of runs) {
        if (!stillClaimed(r, claims)) readable = Math.min(ids.length, readable + 1);
        else if (opts.state === undefined || r.state === opts.state) out.push(r);
      }
    }
  }
  return out.slice(0, limit);
}
