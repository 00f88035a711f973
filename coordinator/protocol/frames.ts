/**
 * Splits a TCP byte stream into length-prefixed frames. Complete frames that
 * arrive inside one chunk are returned as views of it; only a frame that
 * spans chunks is copied.
 */
import { ProtocolError } from './error-codes.ts';

export class FrameTooLargeError extends ProtocolError {
  constructor(readonly length: number) {
    super(`frame length ${length} outside 0..max (jute.maxbuffer)`);
  }
}

export class FrameSplitter {
  private pending: Buffer | null = null;

  constructor(private readonly maxFrameBytes: number) {}

  push(chunk: Buffer): Buffer[] {
    let buf = chunk;
    if (this.pending !== null) {
      buf = Buffer.concat([this.pending, chunk]);
      this.pending = null;
    }
    const frames: Buffer[] = [];
    let off = 0;
    while (buf.length - off >= 4) {
      const len = buf.readInt32BE(off);
      if (len < 0 || len > this.maxFrameBytes) throw new FrameTooLargeError(len);
      if (buf.length - off - 4 < len) break;
      frames.push(buf.subarray(off + 4, off + 4 + len));
      off += 4 + len;
    }
    if (off < buf.length) this.pending = Buffer.from(buf.subarray(off));
    return frames;
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
