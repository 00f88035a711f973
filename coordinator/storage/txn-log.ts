/**
 * The append-only transaction log: segments of CRC'd records, extended in
 * large preallocated steps, one write + one fdatasync per appended batch
 * (group commit). Operations are serialized internally, so `roll` or
 * `truncateAfter` never interleave with an append.
 */
import { open, readFile, rm, truncate, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { limits } from '../base/limits.ts';
import { encodeRecords, scanRecords, segmentHeader, segmentName, isSegmentHeader, type LogRecord } from './record-format.ts';
import { coveredSegments, listSegments } from './segments.ts';
import { fsyncDir } from './fsync-dir.ts';
import { StorageError } from './storage-error.ts';

export interface TxnLogOptions {
  fsync?: boolean;
  preallocBytes?: number;
  log: Logger;
  /** The last zxid already in the log (from recovery); appends must go above it. */
  lastZxid?: number;
  /** Test seam: counts fdatasync calls. */
  onSync?: () => void;
}

export class TxnLog {
  private handle: FileHandle | null = null;
  private position = 0;
  private allocated = 0;
  private chain: Promise<unknown> = Promise.resolve();
  lastZxid: number;
  private readonly fsync: boolean;
  private readonly prealloc: number;

  private constructor(
    private readonly dir: string,
    private readonly opts: TxnLogOptions,
  ) {
    this.lastZxid = opts.lastZxid ?? 0;
    this.fsync = opts.fsync ?? true;
    this.prealloc = opts.preallocBytes ?? limits.logPreallocBytes;
  }

  /** New appends always start a fresh segment: recovery has already settled the old ones. */
  static async open(dir: string, opts: TxnLogOptions): Promise<TxnLog> {
    return new TxnLog(dir, opts);
  }

  private serialize<T>(op: () => Promise<T>): Promise<T> {
    const next = this.chain.then(op, op);
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** Write and fsync one batch: returns once it is durable. */
  async append(entries: readonly LogRecord[]): Promise<void> {
    await this.write(entries);
    await this.sync();
  }

  /**
   * Writes a batch without waiting for the disk. Writes are ordered; a
   * `sync()` started after this resolves makes this batch (and every
   * earlier one) durable. Splitting the two lets the next batch be written
   * while the previous fsync is still running.
   */
  write(entries: readonly LogRecord[]): Promise<void> {
    return this.serialize(() => this.doWrite(entries));
  }

  /** fdatasync of everything written so far. Safe to overlap with later writes. */
  async sync(): Promise<void> {
    if (!this.fsync) return;
    const h = this.handle;
    if (h === null) return;
    this.syncing++;
    const t0 = performance.now();
    try {
      await h.datasync();
    } finally {
      this.syncing--;
      if (this.syncing === 0) for (const w of this.syncWaiters.splice(0)) w();
    }
    this.opts.onSync?.();
    const ms = performance.now() - t0;
    if (ms > 1000) this.opts.log.warn({ ms: Math.round(ms) }, 'fsync-ing the transaction log was slow');
  }

  private syncing = 0;
  private readonly syncWaiters: (() => void)[] = [];

  private async noSyncInFlight(): Promise<void> {
    if (this.syncing > 0) await new Promise<void>((resolve) => this.syncWaiters.push(resolve));
  }

  private async doWrite(entries: readonly LogRecord[]): Promise<void> {
    if (entries.length === 0) return;
    let prev = this.lastZxid;
    for (const e of entries) {
      if (e.zxid <= prev) throw new StorageError('LOG_ORDER', `zxid 0x${e.zxid.toString(16)} after 0x${prev.toString(16)}`);
      prev = e.zxid;
    }
    const first = entries[0] as LogRecord;
    if (this.handle === null) await this.startSegment(first.zxid);
    const h = this.handle as unknown as FileHandle;
    const bytes = encodeRecords(entries);
    if (this.position + bytes.length > this.allocated) {
      // Extend in big steps so most fdatasyncs need no size update.
      while (this.position + bytes.length > this.allocated) this.allocated += this.prealloc;
      await h.truncate(this.allocated);
    }
    let written = 0;
    while (written < bytes.length) {
      const { bytesWritten } = await h.write(bytes, written, bytes.length - written, this.position + written);
      written += bytesWritten;
    }
    this.position += bytes.length;
    this.lastZxid = prev;
  }

  private async startSegment(firstZxid: number): Promise<void> {
    const file = path.join(this.dir, segmentName(firstZxid));
    const h = await open(file, 'w+');
    const header = segmentHeader();
    await h.write(header, 0, header.length, 0);
    this.allocated = 0;
    this.position = header.length;
    this.handle = h;
    if (this.fsync) {
      await h.sync();
      await fsyncDir(this.dir);
    }
  }

  /**
   * Closes the current segment; the next append opens a new one. The
   * closed segment gets no more appends, so its preallocated zeros go: else
   * every segment a snapshot rolls stays preallocBytes long to `ls` (sparse,
   * but not on every file system). Not synced: zeros that come back after a
   * crash read as the end of the segment. (Recovery trims the last segment.)
   */
  roll(): Promise<void> {
    return this.serialize(async () => {
      await this.closeHandle(true);
    });
  }

  private async closeHandle(trim = false): Promise<void> {
    // An fsync still running on this handle must finish before it closes.
    await this.noSyncInFlight();
    const h = this.handle;
    this.handle = null;
    if (!h) return;
    if (trim && this.allocated > this.position) await h.truncate(this.position);
    await h.close();
  }

  /** Every record with zxid > `after`, oldest first, across segments. */
  async readFrom(after: number): Promise<LogRecord[]> {
    await this.chain;
    const out: LogRecord[] = [];
    for (const seg of await listSegments(this.dir)) {
      const buf = await readFile(seg.file);
      if (!isSegmentHeader(buf)) continue;
      for (const r of scanRecords(buf).records) if (r.zxid > after) out.push(r);
    }
    return out;
  }

  /** ZAB TRUNC: drop every record above `zxid`, durably. */
  truncateAfter(zxid: number): Promise<void> {
    return this.serialize(async () => {
      await this.closeHandle();
      for (const seg of await listSegments(this.dir)) {
        if (seg.firstZxid > zxid) {
          await rm(seg.file, { force: true });
          continue;
        }
        const buf = await readFile(seg.file);
        if (!isSegmentHeader(buf)) continue;
        const scan = scanRecords(buf);
        let keep = scan.validBytes;
        let off = 8;
        for (const r of scan.records) {
          const next = off + 16 + r.bytes.length;
          if (r.zxid > zxid) {
            keep = off;
            break;
          }
          off = next;
        }
        if (keep < buf.length) await truncate(seg.file, keep);
      }
      await fsyncDir(this.dir);
      this.lastZxid = Math.min(this.lastZxid, zxid);
    });
  }

  /**
   * Deletes segments wholly at or below `keepFromZxid` (the oldest retained
   * snapshot); returns how many went. A segment holding any txn above it stays.
   */
  purge(keepFromZxid: number): Promise<number> {
    return this.serialize(async () => {
      let purged = 0;
      for (const seg of coveredSegments(await listSegments(this.dir), keepFromZxid)) {
        await rm(seg.file, { force: true });
        purged++;
      }
      return purged;
    });
  }

  /**
   * SNAP: a snapshot at `snapshotZxid` supersedes every record (the log was
   * truncated to it first): delete every segment; appends continue above it.
   */
  discardAll(snapshotZxid: number): Promise<void> {
    return this.serialize(async () => {
      await this.closeHandle();
      for (const seg of await listSegments(this.dir)) await rm(seg.file, { force: true });
      await fsyncDir(this.dir);
      this.lastZxid = snapshotZxid;
    });
  }

  close(): Promise<void> {
    return this.serialize(() => this.closeHandle());
  }
}
