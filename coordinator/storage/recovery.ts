/**
 * Start-up recovery: the newest valid snapshot, then every logged record
 * above it, in order. A torn or corrupt tail of the last segment is cut off
 * on disk (it was never acknowledged: replies wait for the fsync), with a
 * warning. Damage followed by valid records in a later segment would lose
 * acknowledged writes, so it stops the member instead.
 *
 * Segments wholly covered by the snapshot (kept so an older snapshot can
 * stand in for a damaged newer one) are not read: recovery costs the
 * snapshot plus the log above it, however much older log is retained.
 */
import { readFile, truncate, rm } from 'node:fs/promises';
import type { Logger } from 'pino';
import { isSegmentHeader, scanRecords, SEGMENT_HEADER_BYTES, type LogRecord } from './record-format.ts';
import { coveredSegments, listSegments } from './segments.ts';
import { loadNewestValidSnapshot, type Snapshot } from './snapshot.ts';
import { StorageError } from './storage-error.ts';

export interface Recovered {
  snapshot: Snapshot | null;
  entries: LogRecord[];
  truncated: boolean;
  lastZxid: number;
}

export async function recover(dirs: string | { snapDir: string; logDir: string }, log: Logger): Promise<Recovered> {
  const snapDir = typeof dirs === 'string' ? dirs : dirs.snapDir;
  const logDir = typeof dirs === 'string' ? dirs : dirs.logDir;
  const snapshot = await loadNewestValidSnapshot(snapDir, log);
  const base = snapshot?.zxid ?? 0;
  const all = await listSegments(logDir);
  const covered = new Set(coveredSegments(all, base));
  const segments = all.filter((s) => !covered.has(s));
  const entries: LogRecord[] = [];
  let truncated = false;
  let lastZxid = base;
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i] as { firstZxid: number; file: string };
    const isLast = i === segments.length - 1;
    const buf = await readFile(seg.file);
    if (!isSegmentHeader(buf)) {
      // A segment whose header never reached the disk holds nothing acknowledged.
      if (!isLast) throw new StorageError('CORRUPT_LOG', `${seg.file}: bad segment header before later segments`);
      log.warn({ file: seg.file }, 'removing a log segment with an incomplete header');
      await rm(seg.file, { force: true });
      truncated = true;
      continue;
    }
    const scan = scanRecords(buf, SEGMENT_HEADER_BYTES);
    if (scan.stop === 'torn' || scan.stop === 'crc') {
      if (!isLast) {
        throw new StorageError('CORRUPT_LOG', `${seg.file}: ${scan.stop} record at byte ${scan.validBytes}, and later segments follow`);
      }
      log.warn({ file: seg.file, at: scan.validBytes, reason: scan.stop }, 'truncating a torn or corrupt log tail');
      truncated = true;
    }
    // New appends go to a new segment; cut the old one at its last whole record
    // so a half-written length that happens to read as zeros leaves nothing behind.
    if (isLast && scan.validBytes < buf.length) await truncate(seg.file, scan.validBytes);
    // One copy of the records kept, not one per record (thousands of small
    // allocations per MB), and not the file buffer itself: the last segment's
    // is mostly preallocated zeros, and an ensemble member holds its entries.
    const keep: LogRecord[] = [];
    for (const r of scan.records) {
      if (r.zxid <= lastZxid) {
        if (r.zxid > base) throw new StorageError('CORRUPT_LOG', `${seg.file}: zxid 0x${r.zxid.toString(16)} out of order`);
        continue;
      }
      keep.push(r);
      lastZxid = r.zxid;
    }
    const first = keep[0];
    if (first === undefined) continue;
    const from = first.bytes.byteOffset - buf.byteOffset;
    const copy = Buffer.from(buf.subarray(from, scan.validBytes));
    for (const r of keep) {
      const at = r.bytes.byteOffset - buf.byteOffset - from;
      entries.push({ zxid: r.zxid, bytes: copy.subarray(at, at + r.bytes.length) });
    }
  }
  return { snapshot, entries, truncated, lastZxid };
}
