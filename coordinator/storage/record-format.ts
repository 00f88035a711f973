/**
 * Byte layout of the transaction log (pure).
 *
 * Segment file `log.<16 hex digits of the first zxid>`:
 *   header  : magic u32 "DRVL" | version u32 (1)
 *   records : length u32 (payload bytes, > 0) | crc u32 | zxid u64 | payload
 *   tail    : zeros (preallocated space); a zero length ends the segment.
 * crc = CRC-32 over the 8 zxid bytes followed by the payload, so a record
 * whose zxid or payload was damaged is caught, not replayed.
 */
import { crc32 } from 'node:zlib';

export const LOG_MAGIC = 0x4452564c; // "DRVL"
export const LOG_VERSION = 1;
export const SEGMENT_HEADER_BYTES = 8;
export const RECORD_HEADER_BYTES = 16;

export interface LogRecord {
  zxid: number;
  bytes: Buffer;
}

export function segmentHeader(): Buffer {
  const b = Buffer.alloc(SEGMENT_HEADER_BYTES);
  b.writeUInt32BE(LOG_MAGIC, 0);
  b.writeUInt32BE(LOG_VERSION, 4);
  return b;
}

export function isSegmentHeader(buf: Buffer): boolean {
  return buf.length >= SEGMENT_HEADER_BYTES && buf.readUInt32BE(0) === LOG_MAGIC && buf.readUInt32BE(4) === LOG_VERSION;
}

function writeZxid(buf: Buffer, zxid: number, off: number): void {
  buf.writeUInt32BE(Math.floor(zxid / 4294967296), off);
  buf.writeUInt32BE(zxid >>> 0, off + 4);
}

function readZxid(buf: Buffer, off: number): number {
  return buf.readUInt32BE(off) * 4294967296 + buf.readUInt32BE(off + 4);
}

/** Encodes a batch of records into one buffer (one write per group commit). */
export function encodeRecords(records: readonly LogRecord[]): Buffer {
  let total = 0;
  for (const r of records) total += RECORD_HEADER_BYTES + r.bytes.length;
  const out = Buffer.allocUnsafe(total);
  let off = 0;
  for (const r of records) {
    if (r.bytes.length === 0) throw new RangeError('empty log record');
    out.writeUInt32BE(r.bytes.length, off);
    writeZxid(out, r.zxid, off + 8);
    r.bytes.copy(out, off + RECORD_HEADER_BYTES);
    const crc = crc32(r.bytes, crc32(out.subarray(off + 8, off + 16)));
    out.writeUInt32BE(crc, off + 4);
    off += RECORD_HEADER_BYTES + r.bytes.length;
  }
  return out;
}

export type ScanStop = 'end' | 'zero' | 'torn' | 'crc';

export interface ScanResult {
  records: LogRecord[];
  /** Offset just past the last whole, valid record (from the start of `buf`). */
  validBytes: number;
  stop: ScanStop;
}

/** Reads records from `start` until the end, a zero length, a torn record or a bad CRC. */
export function scanRecords(buf: Buffer, start = SEGMENT_HEADER_BYTES): ScanResult {
  const records: LogRecord[] = [];
  let off = start;
  for (;;) {
    if (off === buf.length) return { records, validBytes: off, stop: 'end' };
    if (buf.length - off < 4) {
      return { records, validBytes: off, stop: allZero(buf, off) ? 'zero' : 'torn' };
    }
    const len = buf.readUInt32BE(off);
    if (len === 0) return { records, validBytes: off, stop: allZero(buf, off) ? 'zero' : 'torn' };
    if (buf.length - off < RECORD_HEADER_BYTES + len) return { records, validBytes: off, stop: 'torn' };
    const crc = buf.readUInt32BE(off + 4);
    const payload = buf.subarray(off + RECORD_HEADER_BYTES, off + RECORD_HEADER_BYTES + len);
    if (crc32(payload, crc32(buf.subarray(off + 8, off + 16))) !== crc) return { records, validBytes: off, stop: 'crc' };
    records.push({ zxid: readZxid(buf, off + 8), bytes: payload });
    off += RECORD_HEADER_BYTES + len;
  }
}

/** A tail of zeros is preallocated space; anything else after a zero length is damage. */
function allZero(buf: Buffer, from: number): boolean {
  // Checking the next 64 KiB is enough to tell preallocation from a torn write.
  const end = Math.min(buf.length, from + 65536);
  for (let i = from; i < end; i++) if (buf[i] !== 0) return false;
  return true;
}

export function segmentName(firstZxid: number): string {
  return 'log.' + firstZxid.toString(16).padStart(16, '0');
}

export function parseSegmentName(name: string): number | null {
  const m = /^log\.([0-9a-f]{16})$/.exec(name);
  return m ? parseInt(m[1] as string, 16) : null;
}
