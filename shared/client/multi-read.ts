/**
 * multiRead (opcode 22, ZooKeeper 3.6+): many getData in one request and
 * one reply, on node-zookeeper-client's own connection (its xids, its
 * queues, its connection-loss handling). The library knows neither the
 * opcode nor its reply — it would drop the connection on one — so the
 * request is queued with a payload of our own and the reply is taken off
 * the pending queue before the library sees it (`takeMultiReadReply`,
 * called by the fast paths' frame splitter). A claim reads every item and
 * every record it takes: as single gets that was two requests per run, each
 * with its own frame, reply, packet and callbacks on both sides.
 *
 * Only with the wire fast paths in (wire-fast-paths.ts); without them the
 * caller reads one by one.
 */
import { createRequire } from 'node:module';
import type { Stat } from './coordination.ts';

const require = createRequire(import.meta.url);

export const OP_MULTI_READ = 22;
const OP_GET_DATA = 4;
const OP_ERROR = -1;

/** One getData's outcome: err 0 with data and stat, or ZooKeeper's error code. */
export type ReadResult = { err: 0; data: Buffer; stat: Stat } | { err: number; data?: undefined; stat?: undefined };

type Done = (err: unknown, results?: ReadResult[]) => void;

interface Packet {
  request: { header: { xid: number; type: number } | null };
  callback?: (err: unknown, value?: unknown) => void;
}

interface Cm {
  pendingQueue: Packet[];
  zxid?: Buffer;
  queue(request: unknown, cb: (err: unknown, value?: unknown) => void): void;
}

interface LibJute {
  protocol: { RequestHeader: new () => { type: number; xid: number } };
  Request: new (header: unknown, payload: unknown) => unknown;
}

let jute: LibJute | null = null;
let exception: { create(code: number): Error } | null = null;

/** Called by installWireFastPaths once the library's version is known to fit. */
export function enableMultiRead(): void {
  jute = require('node-zookeeper-client/lib/jute/index.js') as LibJute;
  exception = require('node-zookeeper-client/lib/Exception.js') as { create(code: number): Error };
}

export function multiReadAvailable(): boolean {
  return jute !== null;
}

/** The request body: each path as MultiHeader{4,false,-1} + GetDataRequest{path, watch=false}, then the terminator. */
class MultiReadPayload {
  private readonly encoded: Buffer[];
  constructor(paths: string[]) {
    this.encoded = paths.map((p) => Buffer.from(p, 'utf8'));
  }
  byteLength(): number {
    let n = 9;
    for (const p of this.encoded) n += 9 + 4 + p.length + 1;
    return n;
  }
  serialize(buf: Buffer, start: number): number {
    let off = start;
    for (const p of this.encoded) {
      off = buf.writeInt32BE(OP_GET_DATA, off);
      off = buf.writeUInt8(0, off);
      off = buf.writeInt32BE(-1, off);
      off = buf.writeInt32BE(p.length, off);
      off += p.copy(buf, off);
      off = buf.writeUInt8(0, off);
    }
    off = buf.writeInt32BE(-1, off);
    off = buf.writeUInt8(1, off);
    off = buf.writeInt32BE(-1, off);
    return off - start;
  }
  /** Never set: this client keeps namespaces itself (ZkView.full). */
  setChrootPath(): void {}
}

/** Queues one multiRead of `paths` (absolute) on the library client's connection. */
export function sendMultiRead(client: object, paths: string[], done: Done): void {
  if (!jute) throw new Error('multiRead needs the wire fast paths');
  const header = new jute.protocol.RequestHeader();
  header.type = OP_MULTI_READ;
  const cm = (client as { connectionManager: Cm }).connectionManager;
  cm.queue(new jute.Request(header, new MultiReadPayload(paths)), (err, value) => (err ? done(err) : done(null, value as ReadResult[])));
}

/**
 * If `frame` (length prefix included) answers the multiRead at the head of
 * the pending queue, settles it and returns true; else leaves it to the
 * library. A frame that does not parse fails the request, not the process.
 */
export function takeMultiReadReply(cm: Cm, frame: Buffer): boolean {
  const head = cm.pendingQueue[0];
  if (head?.request.header?.type !== OP_MULTI_READ || frame.length < 20) return false;
  if (frame.readInt32BE(4) !== head.request.header.xid) return false;
  cm.pendingQueue.shift();
  const zxid = frame.subarray(8, 16);
  if (zxid.readBigInt64BE(0) !== 0n) cm.zxid = Buffer.from(zxid);
  const err = frame.readInt32BE(16);
  if (err !== 0) {
    head.callback?.((exception as { create(code: number): Error }).create(err));
    return true;
  }
  let results: ReadResult[];
  try {
    results = decodeResults(frame, 20);
  } catch (e) {
    head.callback?.(e);
    return true;
  }
  head.callback?.(null, results);
  return true;
}

function decodeResults(buf: Buffer, start: number): ReadResult[] {
  const out: ReadResult[] = [];
  let off = start;
  for (;;) {
    const type = buf.readInt32BE(off);
    const done = buf.readUInt8(off + 4) !== 0;
    const headerErr = buf.readInt32BE(off + 5);
    off += 9;
    if (done) return out;
    if (type === OP_GET_DATA) {
      const len = buf.readInt32BE(off);
      off += 4;
      const data = Buffer.allocUnsafe(Math.max(len, 0));
      if (len > 0) {
        if (off + len > buf.length) throw new RangeError('multiRead reply ends inside a data field');
        buf.copy(data, 0, off, off + len);
        off += len;
      }
      out.push({ err: 0, data, stat: readStat(buf, off) });
      off += 68;
    } else if (type === OP_ERROR) {
      out.push({ err: buf.readInt32BE(off) || headerErr });
      off += 4;
    } else {
      throw new RangeError(`multiRead reply holds result type ${type}, not getData or an error`);
    }
  }
}

/** A long below 2^53 (zxids, times) without a BigInt. */
function long(buf: Buffer, off: number): number {
  return buf.readInt32BE(off) * 4294967296 + buf.readUInt32BE(off + 4);
}

function readStat(buf: Buffer, off: number): Stat {
  if (off + 68 > buf.length) throw new RangeError('multiRead reply ends inside a Stat');
  const ownerHi = buf.readUInt32BE(off + 44);
  const ownerLo = buf.readUInt32BE(off + 48);
  return {
    czxid: long(buf, off),
    mzxid: long(buf, off + 8),
    ctime: long(buf, off + 16),
    mtime: long(buf, off + 24),
    version: buf.readInt32BE(off + 32),
    cversion: buf.readInt32BE(off + 36),
    aversion: buf.readInt32BE(off + 40),
    ephemeralOwner: ownerHi === 0 && ownerLo === 0 ? '0' : buf.toString('hex', off + 44, off + 52),
    dataLength: buf.readInt32BE(off + 52),
    numChildren: buf.readInt32BE(off + 56),
    pzxid: long(buf, off + 60),
  };
}
