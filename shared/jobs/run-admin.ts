/**
 * What operators do to runs and jobs (the dashboard and CLI call these):
 * read a run, list runs, cancel, retry, pause and resume. Each action is one
 * multi conditional on the record version it read, so it cannot race a
 * worker's claim or finish into an inconsistent state.
 */
import type { Coordination, Op } from '../client/coordination.ts';
import { isZkError, ZkError } from '../client/zk-error.ts';
import { DroverError } from '../errors.ts';
import type { RunRecord, RunState } from './job-types.ts';
import { readJobSpec } from './job-dirs.ts';
import { layout, laneOf } from './layout.ts';
import { appendOps, commitWithRetry, readLaneTails } from './queue-append.ts';
import { decodeCounter, decodeRecord, encodeRecord } from './run-codec.ts';
import { groupLeaveOps } from './run-group.ts';
import { childrenOrEmpty, deleteIfPresent } from '../client/absent-ok.ts';

async function readRun(client: Coordination, job: string, runId: string): Promise<{ record: RunRecord; version: number }> {
  try {
    const { data, stat } = await client.get(layout.run(job, runId));
    return { record: decodeRecord(data, layout.run(job, runId)), version: stat.version };
  } catch (err) {
    if (isZkError(err, 'NO_NODE')) throw new DroverError('DROVER_RUN_NOT_FOUND', `no run ${runId} of job '${job}' (finished runs are pruned from history)`, { details: { job, runId } });
    throw err;
  }
}

export async function getRun(client: Coordination, job: string, runId: string): Promise<RunRecord> {
  return (await readRun(client, job, runId)).record;
}

export type CancelOutcome = 'cancelled' | 'cancel-requested';

/**
 * Cancels a run: a queued, delayed or barrier-waiting run is marked cancelled
 * at once (its queue item is dropped when a claimer reaches it); an active
 * run gets a cancel request its worker watches for (ctx.signal aborts, the
 * run ends cancelled). A finished run: DROVER_RUN_STATE.
 */
export async function cancelRun(client: Coordination, job: string, runId: string): Promise<CancelOutcome> {
  const out = await commitWithRetry(client, async () => {
    const { record, version } = await readRun(client, job, runId);
    const now = Date.now();
    if (record.state === 'active') return { ops: [], retryable: new Set<number>(), value: 'active' as const };
    if (record.state !== 'queued' && record.state !== 'delayed' && record.state !== 'waiting-barrier') {
      throw new DroverError('DROVER_RUN_STATE', `run ${runId} is ${record.state}; only queued, delayed or active runs can be cancelled`, { details: { job, runId, state: record.state } });
    }
    const next: RunRecord = { ...record, state: 'cancelled', finishedAt: now, error: { code: 'DROVER_CANCELLED', message: 'cancelled before it ran' } };
    const ops: Op[] = [{ op: 'set', path: layout.run(job, runId), data: encodeRecord(next), version }];
    if (record.state === 'delayed' && record.dueAt !== undefined) ops.push({ op: 'delete', path: layout.delayedRun(job, record.dueAt, runId) });
    ops.push({ op: 'create', path: layout.historyEntry(job, now, runId) });
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
 * drops its dead-letter or history entry and appends it to its lane.
 */
export async function retryRun(client: Coordination, job: string, runId: string): Promise<void> {
  await commitWithRetry(client, async () => {
    const { record, version } = await readRun(client, job, runId);
    if (record.state !== 'dead' && record.state !== 'failed' && record.state !== 'cancelled') {
      throw new DroverError('DROVER_RUN_STATE', `run ${runId} is ${record.state}; only dead, failed or cancelled runs can be retried`, { details: { job, runId, state: record.state } });
    }
    const next: RunRecord = { ...record, state: 'queued', freeAttempts: record.attempt };
    delete next.finishedAt;
    delete next.error;
    delete next.result;
    const ops: Op[] = [{ op: 'set', path: layout.run(job, runId), data: encodeRecord(next), version }];
    if (record.state === 'dead') ops.push({ op: 'delete', path: layout.deadRun(job, runId) });
    else if (record.finishedAt !== undefined) {
      const entry = layout.historyEntry(job, record.finishedAt, runId);
      if (await client.exists(entry)) ops.push({ op: 'delete', path: entry });
    }
    const retryable = new Set<number>([0]);
    const tails = await readLaneTails(client, job, [next.priority]);
    ops.push(...appendOps(job, tails, [{ runId, priority: next.priority }], ops.length, retryable));
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

/** Runs waiting per priority lane (tail - head), without listing any items. */
export async function queueDepth(client: Coordination, job: string): Promise<{ total: number; lanes: { priority: number; depth: number }[] }> {
  const names = await childrenOrEmpty(client, layout.lanes(job));
  const priorities = names.map(laneOf).filter((n) => !Number.isNaN(n)).sort((a, b) => a - b);
  const lanes = await Promise.all(
    priorities.map(async (priority) => {
      const [head, tail] = await Promise.all([client.get(layout.laneHead(job, priority)), client.get(layout.laneTail(job, priority))]);
      return { priority, depth: decodeCounter(tail.data, 'tail') - decodeCounter(head.data, 'head') };
    }),
  );
  return { total: lanes.reduce((s, l) => s + l.depth, 0), lanes };
}

export type RunListing = 'queued' | 'active' | 'delayed' | 'history' | 'dead' | 'all';

/**
 * Lists runs' records: queued (head first, per lane), active (inflight),
 * delayed (by due time), history (newest first), dead, or all (by id).
 * `limit` (default 100) bounds the records read.
 */
export async function listRuns(client: Coordination, job: string, opts: { which?: RunListing; limit?: number; state?: RunState } = {}): Promise<RunRecord[]> {
  const which = opts.which ?? 'all';
  const limit = opts.limit ?? 100;
  const names = async (path: string): Promise<string[]> => (await childrenOrEmpty(client, path)).sort();
  let runIds: string[];
  switch (which) {
    case 'queued': {
      runIds = [];
      const depth = await queueDepth(client, job);
      for (const lane of depth.lanes) {
        const head = decodeCounter((await client.get(layout.laneHead(job, lane.priority))).data, 'head');
        const n = Math.min(lane.depth, limit - runIds.length);
        const items = await Promise.all(
          Array.from({ length: n }, (_, i) => client.get(layout.laneItem(job, lane.priority, head + i)).then((r) => r.data.toString('utf8'), () => null)),
        );
        runIds.push(...items.filter((x): x is string => x !== null));
      }
      break;
    }
    case 'active':
      runIds = await names(layout.inflight(job));
      break;
    case 'delayed':
      runIds = (await names(layout.delayed(job))).map((n) => n.slice(16));
      break;
    case 'history':
      runIds = (await names(layout.history(job))).reverse().map((n) => n.slice(16));
      break;
    case 'dead':
      runIds = await names(layout.dead(job));
      break;
    case 'all':
      runIds = await names(layout.runs(job));
      break;
  }
  const records = await Promise.all(
    runIds.slice(0, limit).map((runId) =>
      readRun(client, job, runId).then(
        (r) => r.record,
        (err: unknown) => {
          if (err instanceof DroverError || err instanceof ZkError) return null;
          throw err;
        },
      ),
    ),
  );
  return records.filter((r): r is RunRecord => r !== null && (opts.state === undefined || r.state === opts.state));
}
