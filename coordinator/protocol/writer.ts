/** Writes jute fields into a growable Buffer; `frame()` prefixes the int32 length. */
import type { Acl, Stat } from './records.ts';

const TWO_32 = 4294967296;

function writeLong(buf: Buffer, v: number, pos: number): number {
  const hi = Math.floor(v / TWO_32);
  buf.writeInt32BE(hi | 0, pos);
  buf.writeUInt32BE((v - hi * TWO_32) >>> 0, pos + 4);
  return pos + 8;
}

export class JuteWriter {
  private buf: Buffer;
  private pos: number;

  constructor(initial = 256, framed = true) {
    this.buf = Buffer.allocUnsafe(initial);
    // Leave room for the frame length; `bytes()` skips it for unframed records.
    this.pos = framed ? 4 : 0;
    this.framed = framed;
  }
  private readonly framed: boolean;

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  int(v: number): this {
    this.ensure(4);
    this.buf.writeInt32BE(v | 0, this.pos);
    this.pos += 4;
    return this;
  }

  long(v: number): this {
    this.ensure(8);
    const hi = Math.floor(v / TWO_32);
    const lo = v - hi * TWO_32;
    this.buf.writeInt32BE(hi | 0, this.pos);
    this.buf.writeUInt32BE(lo >>> 0, this.pos + 4);
    this.pos += 8;
    return this;
  }

  longBig(v: bigint): this {
    this.ensure(8);
    this.buf.writeBigInt64BE(BigInt.asIntN(64, v), this.pos);
    this.pos += 8;
    return this;
  }

  bool(v: boolean): this {
    this.ensure(1);
    this.buf[this.pos++] = v ? 1 : 0;
    return this;
  }

  buffer(b: Buffer | null): this {
    if (b === null) return this.int(-1);
    this.ensure(4 + b.length);
    this.buf.writeInt32BE(b.length, this.pos);
    b.copy(this.buf, this.pos + 4);
    this.pos += 4 + b.length;
    return this;
  }

  ustring(s: string | null): this {
    if (s === null) return this.int(-1);
    const len = Buffer.byteLength(s, 'utf8');
    this.ensure(4 + len);
    this.buf.writeInt32BE(len, this.pos);
    this.buf.write(s, this.pos + 4, len, 'utf8');
    this.pos += 4 + len;
    return this;
  }

  /**
   * A snapshot's node record (SnapshotCursor): true, path, data, the ACL's
   * bytes as aclVector writes them, then the persisted Stat fields.
   */
  nodeRecord(path: string, data: Buffer | null, acl: Buffer, czxid: number, mzxid: number, ctime: number, mtime: number, version: number, cversion: number, aversion: number, owner: bigint, pzxid: number): void {
    const dataLen = data === null ? 0 : data.length;
    // A UTF-16 unit is at most 3 UTF-8 bytes: room enough without measuring the path first.
    this.ensure(1 + 4 + path.length * 3 + 4 + dataLen + acl.length + 60);
    const buf = this.buf;
    let pos = this.pos;
    buf[pos++] = 1;
    const len = buf.write(path, pos + 4, 'utf8');
    buf.writeInt32BE(len, pos);
    pos += 4 + len;
    if (data === null) {
      buf.writeInt32BE(-1, pos);
      pos += 4;
    } else {
      buf.writeInt32BE(dataLen, pos);
      buf.set(data, pos + 4);
      pos += 4 + dataLen;
    }
    buf.set(acl, pos);
    pos += acl.length;
    pos = writeLong(buf, czxid, pos);
    pos = writeLong(buf, mzxid, pos);
    pos = writeLong(buf, ctime, pos);
    pos = writeLong(buf, mtime, pos);
    pos = buf.writeInt32BE(version | 0, pos);
    pos = buf.writeInt32BE(cversion | 0, pos);
    pos = buf.writeInt32BE(aversion | 0, pos);
    if (owner === 0n) {
      buf.writeInt32BE(0, pos);
      buf.writeInt32BE(0, pos + 4);
      pos += 8;
    } else pos = buf.writeBigInt64BE(BigInt.asIntN(64, owner), pos);
    this.pos = writeLong(buf, pzxid, pos);
  }

  stringVector(v: readonly string[]): this {
    this.int(v.length);
    for (const s of v) this.ustring(s);
    return this;
  }

  aclVector(v: readonly Acl[]): this {
    this.int(v.length);
    for (const a of v) this.int(a.perms).ustring(a.id.scheme).ustring(a.id.id);
    return this;
  }

  stat(s: Stat): this {
    this.ensure(68);
    this.long(s.czxid).long(s.mzxid).long(s.ctime).long(s.mtime);
    this.int(s.version).int(s.cversion).int(s.aversion);
    this.longBig(s.ephemeralOwner);
    this.int(s.dataLength).int(s.numChildren);
    this.long(s.pzxid);
    return this;
  }

  raw(b: Buffer): this {
    this.ensure(b.length);
    b.copy(this.buf, this.pos);
    this.pos += b.length;
    return this;
  }

  /** The finished frame: int32 length then the body. */
  frame(): Buffer {
    if (!this.framed) return this.bytes();
    this.buf.writeInt32BE(this.pos - 4, 0);
    return this.buf.subarray(0, this.pos);
  }

  /** The body without a length prefix. */
  bytes(): Buffer {
    return this.buf.subarray(this.framed ? 4 : 0, this.pos);
  }
}
