/**
 * The MultiHeader{type int, done bool, err int} that frames each op of a
 * multi and a multiRead, requests and replies alike, and the terminator
 * {-1, true, -1} that ends them (zk-protocol §4).
 */
export const MULTI_HEADER_BYTES = 9;

/** The opcodes and result types our own requests use (the server's own list lives in coordinator/; shared/ does not import it). */
export const OpCode = {
  create: 1,
  delete: 2,
  getData: 4,
  setData: 5,
  check: 13,
  multi: 14,
  create2: 15,
  multiRead: 22,
  /** A result type: the op failed (or was rolled back); an ErrorResponse{err} follows. */
  error: -1,
} as const;

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
