/**
 * multiRead (opcode 22, ZooKeeper 3.6+): many getData in one request and one
 * reply, sent as an own request (own-requests.ts: the library knows neither
 * the opcode nor its reply). A claim reads every item and every record it
 * takes: as single gets that was two requests per run, each with its own
 * frame, reply, packet and callbacks on both ends.
 */
import type { Stat } from './coordination.ts';
import { sendOwn, type OwnPayload } from './own-requests.ts';
import { readBytes, readStat, STAT_BYTES } from './wire-reader.ts';
import { MULTI_HEADER_BYTES, OpCode, readMultiHeader, writeEndHeader, writeOpHeader } from './multi-header.ts';


/** One getData's outcome: err 0 with data and stat, or ZooKeeper's error code. */
export type ReadResult = { err: 0; data: Buffer; stat: Stat } | { err: number; data?: undefined; stat?: undefined };

/** Each path as MultiHeader{4,false,-1} + GetDataRequest{path, watch=false}, then the terminator. */
export class MultiReadPayload implements OwnPayload {
  private readonly encoded: Buffer[];
  constructor(paths: readonly string[]) {
    this.encoded = paths.map((p) => Buffer.from(p, 'utf8'));
  }
  byteLength(): number {
    let n = MULTI_HEADER_BYTES;
    for (const p of this.encoded) n += MULTI_HEADER_BYTES + 4 + p.length + 1;
    return n;
  }
  serialize(buf: Buffer, start: number): number {
    let off = start;
    for (const p of this.encoded) {
      off = writeOpHeader(buf, off, OpCode.getData);
      off = buf.writeInt32BE(p.length, off);
      off += p.copy(buf, off);
      off = buf.writeUInt8(0, off); // watch: false
    }
    return writeEndHeader(buf, off) - start;
  }
  setChrootPath(): void {}
}

/** Queues one multiRead of `paths` (absolute) on the library client's connection. */
export function sendMultiRead(client: object, paths: readonly string[], done: (err: unknown, results?: ReadResult[]) => void): void {
  sendOwn(client, OpCode.multiRead, new MultiReadPayload(paths), decodeResults, done);
}

function decodeResults(buf: Buffer, start: number): ReadResult[] {
  const out: ReadResult[] = [];
  let off = start;
  for (;;) {
    const { type, done, err: headerErr } = readMultiHeader(buf, off);
    off += MULTI_HEADER_BYTES;
    if (done) return out;
    if (type === OpCode.getData) {
      const data = readBytes(buf, off);
      out.push({ err: 0, data: data.value, stat: readStat(buf, data.next) });
      off = data.next + STAT_BYTES;
    } else if (type === OpCode.error) {
      out.push({ err: buf.readInt32BE(off) || headerErr });
      off += 4;
    } else {
      throw new RangeError(`multiRead reply holds result type ${type}, not getData or an error`);
    }
  }
}
