/**
 * MetaQ range assignment (pure): one owner per partition, contiguous
 * ranges in join order, balanced, deterministic, and minimal moves.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { assignRanges, movesBetween, ownersOf, partitionsOf, type PartitionMemberRef } from '../../worker/partitions/assign.ts';

const m = (seq: number, worker = `w-${seq}`): PartitionMemberRef => ({ member: `m-${String(seq).padStart(10, '0')}`, worker });

describe('partition assignment', () => {
  it('MetaQ ranges: 10 partitions over 3 members are 4,3,3 in join order', () => {
    const r = assignRanges([m(7), m(2), m(12)], 10);
    expect(r.map((x) => [x.member, x.from, x.to])).toEqual([
      ['m-0000000002', 0, 4],
      ['m-0000000007', 4, 7],
      ['m-0000000012', 7, 10],
    ]);
    expect(partitionsOf(r, 'm-0000000007')).toEqual([4, 5, 6]);
  });

  it('join order is numeric even past the padding (sequence 10 after 9)', () => {
    const r = assignRanges([{ member: 'm-10', worker: 'b' }, { member: 'm-9', worker: 'a' }], 2);
    // Unpadded names still sort by number, never as strings ('m-10' < 'm-9').
    expect(r.map((x) => x.member)).toEqual(['m-9', 'm-10']);
  });

  it('more members than partitions: the latecomers own nothing', () => {
    const r = assignRanges([m(1), m(2), m(3)], 2);
    expect(r.map((x) => x.to - x.from)).toEqual([1, 1, 0]);
  });

  it('no members: no ranges', () => {
    expect(assignRanges([], 8)).toEqual([]);
    expect(ownersOf([], 3)).toEqual([undefined, undefined, undefined]);
  });

  it('a joiner lands last; the moves are only the partitions that change owner', () => {
    const before = assignRanges([m(1), m(2)], 8);
    const after = assignRanges([m(1), m(2), m(3)], 8);
    const moves = movesBetween(before, after, 8);
    expect(after[2]?.member).toBe('m-0000000003');
    expect(moves).toEqual([
      { partition: 3, from: 'm-0000000001', to: 'm-0000000002' },
      { partition: 6, from: 'm-0000000002', to: 'm-0000000003' },
      { partition: 7, from: 'm-0000000002', to: 'm-0000000003' },
    ]);
  });

  const memberSets = fc.uniqueArray(fc.integer({ min: 0, max: 5000 }), { minLength: 0, maxLength: 40 });

  it('property: one owner per partition, contiguous in join order, counts differ by at most one', () => {
    fc.assert(
      fc.property(memberSets, fc.integer({ min: 0, max: 300 }), (seqs, partitions) => {
        const r = assignRanges(seqs.map((s) => m(s)), partitions);
        expect(r.length).toBe(seqs.length);
        if (seqs.length === 0) return;
        const owners = ownersOf(r, partitions);
        expect(owners.every((o) => o !== undefined)).toBe(true);
        let next = 0;
        const sorted = [...seqs].sort((a, b) => a - b);
        r.forEach((x, i) => {
          expect(x.member).toBe(m(sorted[i] as number).member);
          expect(x.from).toBe(next);
          expect(x.to).toBeGreaterThanOrEqual(x.from);
          next = x.to;
        });
        expect(next).toBe(partitions);
        const counts = r.map((x) => x.to - x.from);
        expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
        const total = counts.reduce((a, b) => a + b, 0);
        expect(total).toBe(partitions);
      }),
      { numRuns: 300 },
    );
  });

  it('property: deterministic whatever order the member list arrives in', () => {
    fc.assert(
      fc.property(memberSets, fc.integer({ min: 0, max: 64 }), fc.integer(), (seqs, partitions, seed) => {
        const shuffled = [...seqs].sort((a, b) => ((a * 31 + seed) % 97) - ((b * 31 + seed) % 97));
        expect(assignRanges(shuffled.map((s) => m(s)), partitions)).toEqual(assignRanges(seqs.map((s) => m(s)), partitions));
      }),
      { numRuns: 200 },
    );
  });

  it('property: moves are exactly the owner changes, and applying them yields the new owners', () => {
    fc.assert(
      fc.property(memberSets, memberSets, fc.integer({ min: 0, max: 64 }), (a, b, partitions) => {
        const before = assignRanges(a.map((s) => m(s)), partitions);
        const after = assignRanges(b.map((s) => m(s)), partitions);
        const owners = ownersOf(before, partitions);
        const moves = movesBetween(before, after, partitions);
        for (const mv of moves) {
          expect(owners[mv.partition]).toBe(mv.from);
          owners[mv.partition] = mv.to;
        }
        expect(owners).toEqual(ownersOf(after, partitions));
        expect(new Set(moves.map((x) => x.partition)).size).toBe(moves.length);
      }),
      { numRuns: 200 },
    );
  });
});
