/** Reading the reply fields our own requests decode (own-requests.ts): ZooKeeper's jute, big-endian. */
import type { Stat } from './coordination.ts';

export const STAT_BYTES = 68;

/** A long below 2^53 (zxids, times) without a BigInt. */
export function readLong(buf: Buffer, off: number): number {
  return buf.readInt32BE(off) * 4294967296 + buf.readUInt32BE(off + 4);
}

/** A ustring at `off`: the string and the offset after it (length -1 is null, read as ''). */
export function readUstring(buf: Buffer, off: number): { value: string; next: number } {
  const len = buf.readInt32BE(off);
  if (len <= 0) return { value: '', next: off + 4 };
  if (off + 4 + len > buf.length) throw new RangeError('reply ends inside a string');
  return { value: buf.toString('utf8', off + 4, off + 4 + len), next: off + 4 + len };
}

/** A buffer field at `off`, copied (the frame is a socket chunk): the bytes and the offset after them. */
export function readBytes(buf: Buffer, off: number): { value: Buffer; next: number } {
  const len = buf.readInt32BE(off);
  if (len <= 0) return { value: Buffer.alloc(0), next: off + 4 };
  if (off + 4 + len > buf.length) throw new RangeError('reply ends inside a data field');
  const value = Buffer.allocUnsafe(len);
  buf.copy(value, 0, off + 4, off + 4 + len);
  return { value, next: off + 4 + len };
}

export function readStat(buf: Buffer, off: number): Stat {
  if (off + STAT_BYTES > buf.length) throw new RangeError('reply ends inside a Stat');
  const ownerHi = buf.readUInt32BE(off + 44);
  const ownerLo = buf.readUInt32BE(off + 48);
  return {
    czxid: readLong(buf, off),
    mzxid: readLong(buf, off + 8),
    ctime: readLong(buf, off + 16),
    mtime: readLong(buf, off + 24),
    version: buf.readInt32BE(off + 32),
    cversion: buf.readInt32BE(off + 36),
    aversion: buf.readInt32BE(off + 40),
    ephemeralOwner: ownerHi === 0 && ownerLo === 0 ? '0' : buf.toString('hex', off + 44, off + 52),
    dataLength: buf.readInt32BE(off + 52),
    numChildren: buf.readInt32BE(off + 56),
    pzxid: readLong(buf, off + 60),
  };
}
