/**
 * Bundle records' storage form (shared/jobs/run-codec.ts): runs are stored
 * without what they share with their bundle, and read back whole — any
 * RunRecord field survives a round trip, and a run whose id or maxAttempts
 * differs keeps its own.
 */
import { describe, expect, it } from 'vitest';
import type { BundleRecord, RunRecord } from '../../shared/jobs/job-types.ts';
import { decodeRecord, decodeStored, encodeBundle } from '../../shared/jobs/run-codec.ts';

function bundleOf(runs: Partial<RunRecord>[]): BundleRecord {
  const id = 'b-mhx8kq1a0-abcdefgh';
  return {
    v: 1,
    kind: 'bundle',
    id,
    job: 'j',
    state: 'active',
    priority: 3,
    enqueuedAt: 1_700_000_000_000,
    worker: 'w-0000000001',
    runs: runs.map((r, k) => ({ v: 1, id: `${id}.${k}`, job: 'j', state: 'queued', input: { k }, attempt: 0, maxAttempts: 2, priority: 3, enqueuedAt: 1_700_000_000_000, ...r }) as RunRecord),
  };
}

describe('bundle codec', () => {
  it('round-trips every field, storing the shared ones once', () => {
    const b = bundleOf([
      { state: 'succeeded', attempt: 1, result: { ok: [1, 2] }, startedAt: 5, finishedAt: 6, worker: 'w-0000000001' },
      { state: 'delayed', attempt: 1, dueAt: 99, error: { code: 'X', message: 'no' }, freeAttempts: 1, stalls: 1 },
      { state: 'active', attempt: 2, progress: { pct: 50, message: 'half', at: 7 }, logs: [{ at: 1, level: 'info', msg: 'hi' }] },
    ]);
    const bytes = encodeBundle(b);
    const stored = JSON.parse(bytes.toString()) as { runs: Record<string, unknown>[]; runMaxAttempts?: number };
    expect(stored.runMaxAttempts).toBe(2);
    for (const r of stored.runs) for (const k of ['v', 'job', 'priority', 'enqueuedAt', 'id', 'maxAttempts']) expect(r).not.toHaveProperty(k);
    const back = decodeStored(bytes, '/runs/j/b');
    expect(back).toEqual({ kind: 'bundle', bundle: b });
  });

  it('keeps an id or maxAttempts that is not the shared one', () => {
    const b = bundleOf([{}, { maxAttempts: 5 }]);
    b.runs[0]!.id = 'b-mhx8kq1a0-abcdefgh.7';
    const bytes = encodeBundle(b);
    const stored = JSON.parse(bytes.toString()) as { runs: Record<string, unknown>[]; runMaxAttempts?: number };
    expect(stored.runMaxAttempts).toBeUndefined();
    expect(stored.runs[0]).toMatchObject({ id: 'b-mhx8kq1a0-abcdefgh.7', maxAttempts: 2 });
    expect(decodeStored(bytes, 'x')).toEqual({ kind: 'bundle', bundle: b });
  });

  it('a bundle is refused where one run is expected, and a malformed one is corrupt state', () => {
    const bytes = encodeBundle(bundleOf([{}]));
    expect(() => decodeRecord(bytes, '/runs/j/b')).toThrow(expect.objectContaining({ code: 'DROVER_CORRUPT_STATE' }));
    expect(() => decodeStored(Buffer.from('{"v":1,"kind":"bundle","id":"b","state":"queued"}'), 'x')).toThrow(expect.objectContaining({ code: 'DROVER_CORRUPT_STATE' }));
    expect(() => decodeStored(Buffer.from('{"v":1,"kind":"bundle","id":"b","state":"queued","runs":[{"input":1}]}'), 'x')).toThrow(
      expect.objectContaining({ code: 'DROVER_CORRUPT_STATE' }),
    );
  });
});
