/**
 * MetaQ's range assignment, pure. Members are sorted by their join sequence
 * (the numeric suffix of m-NNNNNNNNNN, so a joiner lands last and existing
 * ranges shift as little as the rule allows); partitions are the numbers
 * 0..P-1 (never compared as strings: MetaQ's `1-10` before `1-2` bug).
 * Member i takes one contiguous range; the first P mod M members take one
 * extra, so counts differ by at most one. Members past P own nothing.
 */

export interface PartitionMemberRef {
  /** The member node's name, m-NNNNNNNNNN. */
  member: string;
  /** The worker behind it (for people reading the assignment). */
  worker: string;
}

/** [from, to): the member owns partitions from..to-1. */
export interface PartitionRange extends PartitionMemberRef {
  from: number;
  to: number;
}

export interface PartitionMove {
  partition: number;
  /** The member releasing it (undefined if nobody owned it). */
  from: string | undefined;
  /** The member claiming it (undefined if nobody should own it). */
  to: string | undefined;
}

/** The trailing number of a member name, whatever its padding (NaN without one). */
function joinSequence(member: string): number {
  const digits = /(\d+)$/.exec(member)?.[1];
  return digits === undefined ? Number.NaN : Number(digits);
}

function byJoinOrder(a: PartitionMemberRef, b: PartitionMemberRef): number {
  const d = joinSequence(a.member) - joinSequence(b.member);
  if (d !== 0 && !Number.isNaN(d)) return d;
  return a.member < b.member ? -1 : a.member > b.member ? 1 : 0;
}

export function assignRanges(members: readonly PartitionMemberRef[], partitions: number): PartitionRange[] {
  if (!Number.isInteger(partitions) || partitions < 0) throw new RangeError(`partitions must be a non-negative integer, got ${partitions}`);
  const sorted = [...members].sort(byJoinOrder);
  const n = sorted.length;
  const out: PartitionRange[] = [];
  if (n === 0) return out;
  const base = Math.floor(partitions / n);
  const extra = partitions % n;
  let from = 0;
  for (let i = 0; i < n; i++) {
    const m = sorted[i] as PartitionMemberRef;
    const count = base + (i < extra ? 1 : 0);
    out.push({ member: m.member, worker: m.worker, from, to: from + count });
    from += count;
  }
  return out;
}

/** The partitions a member owns under `ranges` (empty if absent). */
export function partitionsOf(ranges: readonly PartitionRange[], member: string): number[] {
  const r = ranges.find((x) => x.member === member);
  if (!r) return [];
  return Array.from({ length: r.to - r.from }, (_, i) => r.from + i);
}

/** The owner of each partition 0..partitions-1 under `ranges` (undefined where none). */
export function ownersOf(ranges: readonly PartitionRange[], partitions: number): (string | undefined)[] {
  const owners: (string | undefined)[] = new Array<string | undefined>(partitions).fill(undefined);
  for (const r of ranges) for (let p = r.from; p < r.to && p < partitions; p++) owners[p] = r.member;
  return owners;
}

/**
 * The moves that take `before` to `after`: exactly the partitions whose
 * owner differs, which is the least any rebalance between the two can move.
 */
export function movesBetween(before: readonly PartitionRange[], after: readonly PartitionRange[], partitions: number): PartitionMove[] {
  const a = ownersOf(before, partitions);
  const b = ownersOf(after, partitions);
  const moves: PartitionMove[] = [];
  for (let p = 0; p < partitions; p++) if (a[p] !== b[p]) moves.push({ partition: p, from: a[p], to: b[p] });
  return moves;
}
