import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { mkdtemp, rm, readFile, writeFile, readdir, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { TxnLog } from '../../../coordinator/storage/txn-log.ts';
import { recover } from '../../../coordinator/storage/recovery.ts';
import { writeSnapshot, loadNewestValidSnapshot, retainSnapshots } from '../../../coordinator/storage/snapshot.ts';
import { acquireDirLock } from '../../../coordinator/storage/dir-lock.ts';
import { StorageError } from '../../../coordinator/storage/storage-error.ts';
import { silentLogger } from '../../../coordinator/base/log.ts';

const log = silentLogger();
const rec = (zxid: number, text = `txn-${zxid}`): { zxid: number; bytes: Buffer } => ({ zxid, bytes: Buffer.from(text) });

describe('transaction log', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'drover-log-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('appends batches with one fsync each and reads them back after reopening', async () => {
    let syncs = 0;
    const l = await TxnLog.open(dir, { log, preallocBytes: 4096, onSync: () => syncs++ });
    await l.append([rec(1), rec(2), rec(3)]);
    await l.append([rec(4)]);
    expect(syncs).toBe(2);
    await l.close();
    const r = await recover(dir, log);
    expect(r.entries.map((e) => [e.zxid, e.bytes.toString()])).toEqual([1, 2, 3, 4].map((z) => [z, `txn-${z}`]));
    expect(r.truncated).toBe(false);
    expect(r.lastZxid).toBe(4);
  });

  it('SNAP: after a snapshot, discardAll drops every record and appends continue above it', async () => {
    const l = await TxnLog.open(dir, { log, preallocBytes: 4096 });
    await l.append([rec(1), rec(2), rec(3)]);
    await l.truncateAfter(2);
    await writeSnapshot(dir, { zxid: 9, chunks: [Buffer.from('tree')] });
    await l.discardAll(9);
    await expect(l.append([rec(9)])).rejects.toBeInstanceOf(StorageError);
    await l.append([rec(10), rec(11)]);
    await l.close();
    const r = await recover(dir, log);
    expect(r.snapshot?.zxid).toBe(9);
    expect(r.entries.map((e) => e.zxid)).toEqual([10, 11]);
    expect(r.lastZxid).toBe(11);
  });

  it('refuses zxids that do not increase', async () => {
    const l = await TxnLog.open(dir, { log });
    await l.append([rec(5)]);
    await expect(l.append([rec(5)])).rejects.toBeInstanceOf(StorageError);
    await l.close();
  });

  it('preallocates in steps and ignores the zero tail', async () => {
    const l = await TxnLog.open(dir, { log, preallocBytes: 1 << 20 });
    await l.append([rec(1)]);
    await l.close();
    const [seg] = await readdir(dir);
    expect((await stat(path.join(dir, seg as string))).size).toBe(1 << 20);
    expect((await recover(dir, log)).entries).toHaveLength(1);
  });

  it('a log cut at every byte offset of its last record recovers exactly the records before it', async () => {
    const l = await TxnLog.open(dir, { log, preallocBytes: 64 });
    await l.append([rec(1, 'first'), rec(2, 'second')]);
    await l.append([rec(3, 'the last record, cut everywhere')]);
    await l.close();
    const [segName] = await readdir(dir);
    const file = path.join(dir, segName as string);
    const full = await readFile(file);
    const lastStart = 8 + (16 + 5) + (16 + 6);
    const lastEnd = lastStart + 16 + 'the last record, cut everywhere'.length;
    for (let cut = lastStart; cut < lastEnd; cut++) {
      await writeFile(file, full.subarray(0, cut));
      const r = await recover(dir, log);
      expect(r.entries.map((e) => e.zxid), `cut at ${cut}`).toEqual([1, 2]);
      // The torn tail is gone from disk: the next recovery sees a clean end.
      expect((await stat(file)).size, `cut at ${cut}`).toBe(lastStart);
    }
  });

  it('a flipped byte in the last record fails its CRC and is truncated, never applied', async () => {
    const l = await TxnLog.open(dir, { log, preallocBytes: 64 });
    await l.append([rec(1, 'keep'), rec(2, 'damaged')]);
    await l.close();
    const [segName] = await readdir(dir);
    const file = path.join(dir, segName as string);
    const full = Buffer.from(await readFile(file));
    const damagedPayload = 8 + (16 + 'keep'.length) + 16;
    full[damagedPayload + 2] = (full[damagedPayload + 2] as number) ^ 0x55;
    await writeFile(file, full);
    const r = await recover(dir, log);
    expect(r.entries.map((e) => e.bytes.toString())).toEqual(['keep']);
    expect(r.truncated).toBe(true);
  });

  it('damage before a later valid segment is an error, not silent loss', async () => {
    const a = await TxnLog.open(dir, { log, preallocBytes: 64 });
    await a.append([rec(1), rec(2)]);
    await a.roll();
    await a.append([rec(3)]);
    await a.close();
    const segs = (await readdir(dir)).sort();
    const first = path.join(dir, segs[0] as string);
    const buf = Buffer.from(await readFile(first));
    buf[8 + 16] = (buf[8 + 16] as number) ^ 0xff;
    await writeFile(first, buf);
    await expect(recover(dir, log)).rejects.toMatchObject({ code: 'CORRUPT_LOG' });
  });

  it('rolls segments, replays across them, truncates after a zxid and purges old segments', async () => {
    const l = await TxnLog.open(dir, { log, preallocBytes: 64 });
    await l.append([rec(1), rec(2)]);
    await l.roll();
    await l.append([rec(3), rec(4)]);
    await l.roll();
    await l.append([rec(5)]);
    expect((await l.readFrom(2)).map((r) => r.zxid)).toEqual([3, 4, 5]);
    await l.truncateAfter(3);
    expect((await l.readFrom(0)).map((r) => r.zxid)).toEqual([1, 2, 3]);
    await l.append([rec(4, 'again')]);
    await l.purge(2);
    expect((await l.readFrom(0)).map((r) => r.zxid)).toEqual([3, 4]);
    await l.close();
  });
});

describe('snapshots and the data dir lock', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'drover-snap-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loads the newest snapshot that validates, skipping a corrupt newer one', async () => {
    await writeSnapshot(dir, { zxid: 10, chunks: [Buffer.from('ten')] });
    await writeSnapshot(dir, { zxid: 20, chunks: [Buffer.from('twenty')] });
    const newest = path.join(dir, 'snapshot.' + (20).toString(16).padStart(16, '0'));
    const buf = Buffer.from(await readFile(newest));
    buf[buf.length - 1] = (buf[buf.length - 1] as number) ^ 1;
    await writeFile(newest, buf);
    const s = await loadNewestValidSnapshot(dir, log);
    expect(s?.zxid).toBe(10);
    expect(s?.bytes.toString()).toBe('ten');
  });

  it('recovery replays only the log above the snapshot', async () => {
    const l = await TxnLog.open(dir, { log, preallocBytes: 64 });
    await l.append([rec(1), rec(2), rec(3)]);
    await l.close();
    await writeSnapshot(dir, { zxid: 2, chunks: [Buffer.from('state@2')] });
    const r = await recover(dir, log);
    expect(r.snapshot?.zxid).toBe(2);
    expect(r.entries.map((e) => e.zxid)).toEqual([3]);
  });

  it('keeps only the newest snapshots', async () => {
    for (const z of [1, 2, 3, 4]) await writeSnapshot(dir, { zxid: z, chunks: [Buffer.from(String(z))] });
    expect(await retainSnapshots(dir, 2)).toBe(3);
    expect((await readdir(dir)).filter((n) => n.startsWith('snapshot.')).length).toBe(2);
  });

  it('refuses a second holder of the data dir and takes over a stale lock', async () => {
    const lock = await acquireDirLock(dir);
    await expect(acquireDirLock(dir)).rejects.toMatchObject({ code: 'DATA_DIR_LOCKED' });
    await lock.release();
    // A lock left by a process that no longer exists.
    await writeFile(path.join(dir, 'LOCK'), '999999999');
    const again = await acquireDirLock(dir);
    await again.release();
  });
});

describe('epoch files', () => {
  it('round-trip durably, are absent before the first write, and refuse garbage', async () => {
    const { readEpochFile, writeEpochFile } = await import('../../../coordinator/storage/epoch-file.ts');
    const dir = await mkdtemp(path.join(os.tmpdir(), 'drover-epoch-'));
    try {
      expect(await readEpochFile(dir, 'acceptedEpoch')).toBeNull();
      await writeEpochFile(dir, 'acceptedEpoch', 7);
      await writeEpochFile(dir, 'acceptedEpoch', 8);
      await writeEpochFile(dir, 'currentEpoch', 7);
      expect(await readEpochFile(dir, 'acceptedEpoch')).toBe(8);
      expect(await readEpochFile(dir, 'currentEpoch')).toBe(7);
      await writeFile(path.join(dir, 'currentEpoch'), 'x');
      await expect(readEpochFile(dir, 'currentEpoch')).rejects.toBeInstanceOf(StorageError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
