/**
 * Appending to a job's priority lanes: the one place that turns "these runs
 * are ready" into multi ops, for enqueue, barrier release, delayed
 * promotion, orphan re-queue and hand-back alike.
 *
 * Contract of an append (per lane p touched):
 *   reads   /queues/<job>/p<p>/tail  (value t, version v), or its absence
 *   ops     set tail = t+n at version v          (exists)
 *           create p<p>, head "0", items, tail "n" (first use)
 *           create items/i-<t..t+n-1> = runId
 *   fails   BAD_VERSION on the tail / NODE_EXISTS on the lane: a racing
 *           producer won; re-read and build again (commitWithRetry does).
 * The tail moves by exactly the number of items created in the same multi,
 * so every index below a lane's tail names an item or a claimed one.
 */
import type { Coordination, Op, OpResult } from '../client/coordination.ts';
import { isZkError, ZkError } from '../client/zk-error.ts';
import { layout } from './layout.ts';
import { decodeCounter, encodeCounter } from './run-codec.ts';

export interface AppendEntry {
  runId: string;
  priority: number;
}

export interface LaneTail {
  priority: number;
  /** null when the lane does not exist yet. */
  tail: number | null;
  version: number;
}

/** Reads the tails of the given lanes, pipelined. */
export async function readLaneTails(client: Coordination, job: string, priorities: Iterable<number>): Promise<Map<number, LaneTail>> {
  const list = [...new Set(priorities)];
  const tails = await Promise.all(
    list.map(async (priority): Promise<LaneTail> => {
      try {
        const { data, stat } = await client.get(layout.laneTail(job, priority));
        return { priority, tail: decodeCounter(data, layout.laneTail(job, priority)), version: stat.version };
      } catch (err) {
        if (isZkError(err, 'NO_NODE')) return { priority, tail: null, version: -1 };
        throw err;
      }
    }),
  );
  return new Map(tails.map((t) => [t.priority, t]));
}

/**
 * The ops that append `entries` (in order, per lane) given the lanes' tails.
 * `retryable` collects the indexes (offset by `base`) whose failure means
 * "a racing producer": the caller re-reads and rebuilds.
 */
export function appendOps(job: string, tails: Map<number, LaneTail>, entries: AppendEntry[], base: number, retryable: Set<number>): Op[] {
  const ops: Op[] = [];
  const byLane = new Map<number, string[]>();
  for (const e of entries) {
    const list = byLane.get(e.priority) ?? [];
    list.push(e.runId);
    byLane.set(e.priority, list);
  }
  for (const [priority, runIds] of [...byLane].sort((a, b) => a[0] - b[0])) {
    const lane = tails.get(priority);
    if (!lane) throw new Error(`appendOps: lane p${priority} of ${job} was not read`);
    const start = lane.tail ?? 0;
    if (lane.tail === null) {
      retryable.add(base + ops.length);
      ops.push({ op: 'create', path: layout.lane(job, priority) });
      ops.push({ op: 'create', path: layout.laneHead(job, priority), data: encodeCounter(0) });
      ops.push({ op: 'create', path: layout.laneItems(job, priority) });
      ops.push({ op: 'create', path: layout.laneTail(job, priority), data: encodeCounter(runIds.length) });
    } else {
      retryable.add(base + ops.length);
      ops.push({ op: 'set', path: layout.laneTail(job, priority), data: encodeCounter(start + runIds.length), version: lane.version });
    }
    runIds.forEach((runId, i) => {
      ops.push({ op: 'create', path: layout.laneItem(job, priority, start + i), data: Buffer.from(runId, 'utf8') });
    });
  }
  return ops;
}

export interface CommitPlan<T> {
  ops: Op[];
  /** Op indexes whose failure means "lost a race": rebuild and try again. */
  retryable: Set<number>;
  value: T;
}

const RACE_ATTEMPTS_MAX = 200;

function jitter(attempt: number): Promise<void> {
  const ms = Math.random() * Math.min(50, 1 + attempt * 2);
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Builds a plan from fresh reads and commits it as one multi; on a lost
 * race (a retryable op failed) reads again and retries with jitter. Any
 * other failure rejects with the ZkError (nothing was written).
 */
export async function commitWithRetry<T>(
  client: Coordination,
  build: (attempt: number) => Promise<CommitPlan<T> | null>,
): Promise<{ value: T; results: OpResult[] } | null> {
  for (let attempt = 0; ; attempt++) {
    const plan = await build(attempt);
    if (plan === null) return null;
    if (plan.ops.length === 0) return { value: plan.value, results: [] };
    try {
      const results = await client.multi(plan.ops);
      return { value: plan.value, results };
    } catch (err) {
      const raced = err instanceof ZkError && err.opIndex !== undefined && plan.retryable.has(err.opIndex) && (err.is('BAD_VERSION') || err.is('NODE_EXISTS') || err.is('NO_NODE'));
      if (!raced || attempt >= RACE_ATTEMPTS_MAX) throw err;
      await jitter(attempt);
    }
  }
}
