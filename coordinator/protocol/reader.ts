/** Reads jute fields from a Buffer. Any overrun or impossible length is a ProtocolError. */
import { ProtocolError } from './error-codes.ts';
import type { Acl, Id, Stat } from './records.ts';

const TWO_32 = 4294967296;

export class JuteReader {
  offset: number;
  constructor(
    readonly buf: Buffer,
    offset = 0,
  ) {
    this.offset = offset;
  }

  get remaining(): number {
    return this.buf.length - this.offset;
  }

  private need(n: number): void {
    if (this.offset + n > this.buf.length) throw new ProtocolError(`record truncated: need ${n} bytes at offset ${this.offset}`);
  }

  int(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.offset);
    this.offset += 4;
    return v;
  }

  /** A long as a number: exact for |v| < 2^53 (zxids, times, versions). */
  long(): number {
    this.need(8);
    const hi = this.buf.readInt32BE(this.offset);
    const lo = this.buf.readUInt32BE(this.offset + 4);
    this.offset += 8;
    return hi * TWO_32 + lo;
  }

  /**
   * Unsigned: session ids and owner markers use the top bit. Zero (a
   * persistent node's owner) is the one shared 0n: a BigInt read from bytes
   * is a heap object of its own, and a follower's tree kept one per node.
   */
  longBig(): bigint {
    this.need(8);
    const buf = this.buf;
    const o = this.offset;
    this.offset += 8;
    if (buf.readUInt32BE(o) === 0 && buf.readUInt32BE(o + 4) === 0) return 0n;
    return buf.readBigUInt64BE(o);
  }

  bool(): boolean {
    this.need(1);
    return this.buf[this.offset++] !== 0;
  }

  /** null for length -1; a view, not a copy. */
  buffer(): Buffer | null {
    const len = this.int();
    if (len === -1) return null;
    if (len < 0) throw new ProtocolError(`negative buffer length ${len}`);
    this.need(len);
    const b = this.buf.subarray(this.offset, this.offset + len);
    this.offset += len;
    return b;
  }

  /** A copy, for data the server keeps (the view would pin the whole frame). */
  bufferCopy(): Buffer | null {
    const b = this.buffer();
    return b === null ? null : Buffer.from(b);
  }

  ustring(): string {
    const len = this.int();
    if (len === -1) return '';
    if (len < 0) throw new ProtocolError(`negative string length ${len}`);
    this.need(len);
    const s = this.buf.toString('utf8', this.offset, this.offset + len);
    this.offset += len;
    return s;
  }

  private count(): number {
    const n = this.int();
    if (n === -1) return 0;
    if (n < 0) throw new ProtocolError(`negative vector length ${n}`);
    // Each element takes at least 4 bytes: a count beyond that is garbage, not a huge allocation.
    if (n * 4 > this.remaining) throw new ProtocolError(`vector length ${n} exceeds the record`);
    return n;
  }

  stringVector(): string[] {
    const n = this.count();
    const out = new Array<string>(n);
    for (let i = 0; i < n; i++) out[i] = this.ustring();
    return out;
  }

  id(): Id {
    return { scheme: this.ustring(), id: this.ustring() };
  }

  aclVector(): Acl[] {
    const n = this.count();
    const out = new Array<Acl>(n);
    for (let i = 0; i < n; i++) out[i] = { perms: this.int(), id: this.id() };
    return out;
  }

  stat(): Stat {
    return {
      czxid: this.long(),
      mzxid: this.long(),
      ctime: this.long(),
      mtime: this.long(),
      version: this.int(),
      cversion: this.int(),
      aversion: this.int(),
      ephemeralOwner: this.longBig(),
      dataLength: this.int(),
      numChildren: this.int(),
      pzxid: this.long(),
    };
  }
}
