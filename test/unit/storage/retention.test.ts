/**
 * Log retention: which segments a snapshot covers, purging exactly those,
 * and recovery that neither needs nor reads them.
 */
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { mkdtemp, rm, readdir, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { TxnLog } from '../../../coordinator/storage/txn-log.ts';
import { recover } from '../../../coordinator/storage/recovery.ts';
import { writeSnapshot } from '../../../coordinator/storage/snapshot.ts';
import { coveredSegments, listSegments } from '../../../coordinator/storage/segments.ts';
import { segmentName } from '../../../coordinator/storage/record-format.ts';
import { StorageError } from '../../../coordinator/storage/storage-error.ts';
import { silentLogger } from '../../../coordinator/base/log.ts';

const log = silentLogger();
const rec = (zxid: number): { zxid: number; bytes: Buffer } => ({ zxid, bytes: Buffer.from(`txn-${zxid}`) });
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('coveredSegments', () => {
  const segs = [1, 11, 21].map((firstZxid) => ({ firstZxid, file: segmentName(firstZxid) }));
  it('covers a segment only when every zxid in it is at or below the snapshot', () => {
    expect(coveredSegments(segs, 0)).toEqual([]);
    expect(coveredSegments(segs, 9)).toEqual([]);
    expect(coveredSegments(segs, 10).map((s) => s.firstZxid)).toEqual([1]);
    expect(coveredSegments(segs, 15).map((s) => s.firstZxid)).toEqual([1]);
    expect(coveredSegments(segs, 20).map((s) => s.firstZxid)).toEqual([1, 11]);
    // The newest segment has no upper bound: it is never covered.
    expect(coveredSegments(segs, 1000).map((s) => s.firstZxid)).toEqual([1, 11]);
  });
});

describe('purge and recovery', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'drover-retain-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Segments starting at 1, 11 and 21; records 1..25. */
  async function threeSegments(): Promise<void> {
    const l = await TxnLog.open(dir, { log, preallocBytes: 4096 });
    await l.append(range(1, 10).map(rec));
    await l.roll();
    await l.append(range(11, 20).map(rec));
    await l.roll();
    await l.append(range(21, 25).map(rec));
    await l.close();
  }

  it('deletes the segments wholly at or below the oldest kept snapshot and keeps the one straddling it', async () => {
    await threeSegments();
    const l = await TxnLog.open(dir, { log, lastZxid: 25 });
    expect(await l.purge(15)).toBe(1);
    await l.close();
    expect((await listSegments(dir)).map((s) => s.firstZxid)).toEqual([11, 21]);
  });

  it('recovers from a newer snapshot after an older segment was deleted', async () => {
    await threeSegments();
    await writeSnapshot(dir, { zxid: 15, chunks: [Buffer.from('tree@15')] });
    const l = await TxnLog.open(dir, { log, lastZxid: 25 });
    await l.purge(15);
    await l.close();
    const r = await recover(dir, log);
    expect(r.snapshot?.zxid).toBe(15);
    expect(r.entries.map((e) => e.zxid)).toEqual(range(16, 25));
    expect(r.entries.map((e) => e.bytes.toString())).toEqual(range(16, 25).map((z) => `txn-${z}`));
    expect(r.lastZxid).toBe(25);
  });

  it('does not read the segments a snapshot covers (damage there does not stop a start)', async () => {
    await threeSegments();
    await writeSnapshot(dir, { zxid: 20, chunks: [Buffer.from('tree@20')] });
    await writeFile(path.join(dir, segmentName(1)), Buffer.from('not a log segment at all'));
    await writeFile(path.join(dir, segmentName(11)), Buffer.from('nor this'));
    const r = await recover(dir, log);
    expect(r.entries.map((e) => e.zxid)).toEqual(range(21, 25));
    // Without the snapshot the same damage is before valid data: an error, as before.
    await rm(path.join(dir, 'snapshot.' + (20).toString(16).padStart(16, '0')));
    await expect(recover(dir, log)).rejects.toBeInstanceOf(StorageError);
  });

  it('falls back to an older kept snapshot and replays the log retained for it', async () => {
    await threeSegments();
    await writeSnapshot(dir, { zxid: 12, chunks: [Buffer.from('tree@12')] });
    await writeSnapshot(dir, { zxid: 22, chunks: [Buffer.from('tree@22')] });
    const l = await TxnLog.open(dir, { log, lastZxid: 25 });
    // Oldest kept is 12: only the first segment goes.
    await l.purge(12);
    await l.close();
    expect((await listSegments(dir)).map((s) => s.firstZxid)).toEqual([11, 21]);
    // The newest snapshot is damaged; the older one plus the log still gives everything.
    await writeFile(path.join(dir, 'snapshot.' + (22).toString(16).padStart(16, '0')), Buffer.from('torn'));
    const r = await recover(dir, log);
    expect(r.snapshot?.zxid).toBe(12);
    expect(r.entries.map((e) => e.zxid)).toEqual(range(13, 25));
  });

  it('a rolled segment loses its preallocated tail; the current one keeps it', async () => {
    const l = await TxnLog.open(dir, { log, preallocBytes: 1 << 20 });
    await l.append(range(1, 3).map(rec));
    await l.roll();
    await l.append([rec(4)]);
    const [rolled, current] = await listSegments(dir);
    expect((await stat(rolled?.file as string)).size).toBe(8 + 3 * (16 + 'txn-1'.length));
    expect((await stat(current?.file as string)).size).toBe(1 << 20);
    await l.close();
    expect((await recover(dir, log)).entries.map((e) => e.zxid)).toEqual([1, 2, 3, 4]);
  });

  it('recovered entries do not share memory with the preallocated file buffer', async () => {
    const l = await TxnLog.open(dir, { log, preallocBytes: 1 << 20 });
    await l.append(range(1, 3).map(rec));
    await l.close();
    const r = await recover(dir, log);
    const [a, b] = r.entries;
    // One copy for the segment's records, not the file's 1 MiB (mostly preallocated zeros).
    expect(a?.bytes.buffer).toBe(b?.bytes.buffer);
    expect((a?.bytes.buffer as ArrayBuffer).byteLength).toBeLessThan(1 << 20);
    expect((await readdir(dir)).length).toBe(1);
  });
});
