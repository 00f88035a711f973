/**
 * Splits a TCP byte stream into length-prefixed frames. Complete frames that
 * arrive inside one chunk are returned as views of it; only a frame that
 * spans chunks is copied, once: the chunks of a large frame (a SNAP of many
 * megabytes arrives in 64 KiB pieces) are collected until it is whole, never
 * re-concatenated per chunk.
 */
import { ProtocolError } from './error-codes.ts';

export class FrameTooLargeError extends ProtocolError {
  constructor(readonly length: number) {
    super(`frame length ${length} outside 0..max (jute.maxbuffer)`);
  }
}

export class FrameSplitter {
  /** Bytes of an unfinished frame, in arrival order. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Bytes the unfinished frame needs in all (prefix included), once its prefix is known. */
  private needed = 0;

  constructor(private readonly maxFrameBytes: number) {}

  push(chunk: Buffer): Buffer[] {
    let buf = chunk;
    if (this.pending.length > 0) {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      if (this.needed === 0 && this.pendingBytes >= 4) this.needed = 4 + this.lengthAt(Buffer.concat(this.pending, 4), 0);
      if (this.needed === 0 || this.pendingBytes < this.needed) return [];
      buf = Buffer.concat(this.pending, this.pendingBytes);
      this.pending = [];
      this.pendingBytes = 0;
      this.needed = 0;
    }
    const frames: Buffer[] = [];
    let off = 0;
    while (buf.length - off >= 4) {
      const len = this.lengthAt(buf, off);
      if (buf.length - off - 4 < len) break;
      frames.push(buf.subarray(off + 4, off + 4 + len));
      off += 4 + len;
    }
    if (off < buf.length) {
      const rest = Buffer.from(buf.subarray(off));
      this.pending = [rest];
      this.pendingBytes = rest.length;
      this.needed = rest.length >= 4 ? 4 + this.lengthAt(rest, 0) : 0;
    }
    return frames;
  }

  private lengthAt(buf: Buffer, off: number): number {
    const len = buf.readInt32BE(off);
    if (len < 0 || len > this.maxFrameBytes) throw new FrameTooLargeError(len);
    return len;
  }
}

const FOUR_LETTER_WORDS = new Set([
  'ruok', 'srvr', 'stat', 'mntr', 'conf', 'cons', 'crst', 'srst', 'wchs', 'wchc', 'wchp', 'dump', 'envi', 'isro', 'dirs', 'gtmk', 'stmk', 'hash',
]);

/** The command, if the first four bytes of a new connection spell a four-letter word. */
export function isFourLetterWord(first4: Buffer): string | null {
  if (first4.length < 4) return null;
  const word = first4.toString('latin1', 0, 4);
  return FOUR_LETTER_WORDS.has(word) ? word : null;
}
