/**
 * partitions/<job>/assignment: the published Assignment, written by
 * whichever member first computes a new one. Every member computes the same
 * ranges from the same member list, so writes are compare-and-set on the
 * node's version: the loser of a race re-reads, finds the ranges it wanted
 * already there, and adopts their generation instead of bumping it again.
 * A member whose view of the member list is older (a lower members
 * cversion) never overwrites a newer assignment; its own watch is about to
 * bring it up to date.
 */
import type { Coordination } from '../../shared/client/coordination.ts';
import { isZkError } from '../../shared/client/zk-error.ts';
import { DroverError } from '../../shared/errors.ts';
import type { Assignment } from '../../shared/jobs/job-types.ts';
import { layout } from '../../shared/jobs/layout.ts';
import { movesBetween, type PartitionMove, type PartitionRange } from './assign.ts';

export interface PublishResult {
  /** The generation of the assignment now stored (ours or an equal one). */
  generation: number;
  /** True when this call wrote a new generation. */
  wrote: boolean;
  /** True when the stored assignment was computed from a newer member list than ours. */
  stale: boolean;
  assignment: Assignment | null;
  /** Set when wrote: what changed and why. */
  change?: { reason: string; moves: PartitionMove[]; previous: Assignment | null };
}

/** Bounded: a race between members settles in one or two rounds; more means something is wrong. */
const CAS_ROUNDS_MAX = 20;

function sameRanges(a: readonly PartitionRange[], b: readonly PartitionRange[]): boolean {
  return a.length === b.length && a.every((x, i) => x.member === b[i]?.member && x.from === b[i]?.from && x.to === b[i]?.to);
}

/** Why the assignment changed, in words: who joined and who left. */
export function describeChange(previous: Assignment | null, ranges: readonly PartitionRange[]): string {
  if (!previous) return `initial assignment over ${ranges.length} member(s)`;
  const before = new Set(previous.ranges.map((r) => r.member));
  const after = new Set(ranges.map((r) => r.member));
  const joined = ranges.filter((r) => !before.has(r.member)).map((r) => `${r.member} (${r.worker})`);
  const left = previous.ranges.filter((r) => !after.has(r.member)).map((r) => `${r.member} (${r.worker})`);
  const parts = [joined.length ? `joined ${joined.join(', ')}` : '', left.length ? `left ${left.join(', ')}` : ''].filter(Boolean);
  return parts.length ? parts.join('; ') : 'members unchanged, ranges recomputed';
}

export async function readAssignment(client: Coordination, job: string): Promise<{ assignment: Assignment; version: number } | null> {
  try {
    const { data, stat } = await client.get(layout.partitionAssignment(job));
    return { assignment: JSON.parse(data.toString('utf8')) as Assignment, version: stat.version };
  } catch (err) {
    if (isZkError(err, 'NO_NODE')) return null;
    if (err instanceof SyntaxError) throw new DroverError('DROVER_CORRUPT_STATE', `assignment of ${job} is not JSON`, { cause: err });
    throw err;
  }
}

export async function publishAssignment(
  client: Coordination,
  opts: { job: string; partitions: number; ranges: PartitionRange[]; membersVersion: number; now: () => number },
): Promise<PublishResult> {
  const path = layout.partitionAssignment(opts.job);
  for (let round = 0; round < CAS_ROUNDS_MAX; round++) {
    const stored = await readAssignment(client, opts.job);
    const prev = stored?.assignment ?? null;
    if (prev && prev.partitions === opts.partitions && sameRanges(prev.ranges, opts.ranges)) {
      return { generation: prev.generation, wrote: false, stale: false, assignment: prev };
    }
    if (prev && (prev.membersVersion ?? -1) > opts.membersVersion) {
      return { generation: prev.generation, wrote: false, stale: true, assignment: prev };
    }
    const reason = describeChange(prev, opts.ranges);
    const next: Assignment = {
      v: 1,
      generation: (prev?.generation ?? 0) + 1,
      ranges: opts.ranges,
      partitions: opts.partitions,
      reason,
      at: opts.now(),
      membersVersion: opts.membersVersion,
    };
    const data = Buffer.from(JSON.stringify(next));
    try {
      if (stored) await client.set(path, data, stored.version);
      else await client.create(path, data);
    } catch (err) {
      if (isZkError(err, 'BAD_VERSION') || isZkError(err, 'NODE_EXISTS') || isZkError(err, 'NO_NODE')) continue;
      throw err;
    }
    const moves = movesBetween(prev?.ranges ?? [], opts.ranges, opts.partitions);
    return { generation: next.generation, wrote: true, stale: false, assignment: next, change: { reason, moves, previous: prev } };
  }
  throw new DroverError('DROVER_CORRUPT_STATE', `assignment of ${opts.job} kept changing under ${CAS_ROUNDS_MAX} compare-and-set rounds`);
}
