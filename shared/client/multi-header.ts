/**
 * The MultiHeader{type int, done bool, err int} that frames each op of a
 * multi and a multiRead, requests and replies alike, and the terminator
 * {-1, true, -1} that ends them (zk-protocol §4).
 */
export const MULTI_HEADER_BYTES = 9;

/** An op's header in a request (done false, err -1); returns the offset after it. */
export function writeOpHeader(buf: Buffer, off: number, type: number): number {
  off = buf.writeInt32BE(type, off);
  off = buf.writeUInt8(0, off);
  return buf.writeInt32BE(-1, off);
}

/** The terminator; returns the offset after it. */
export function writeEndHeader(buf: Buffer, off: number): number {
  off = buf.writeInt32BE(-1, off);
  off = buf.writeUInt8(1, off);
  return buf.writeInt32BE(-1, off);
}

export interface MultiHeader {
  type: number;
  done: boolean;
  err: number;
}

export function readMultiHeader(buf: Buffer, off: number): MultiHeader {
  return { type: buf.readInt32BE(off), done: buf.readUInt8(off + 4) !== 0, err: buf.readInt32BE(off + 5) };
}
