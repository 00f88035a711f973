/**
 * Requests this client encodes and decodes itself, sent on
 * node-zookeeper-client's own connection (its xids, its queues, its
 * connection-loss handling): multiRead, which the library lacks, and multi,
 * whose results the library builds as a record per op with a Stat record of
 * Buffer longs that we then converted again (a claim's take multi sets a few
 * hundred records). The request goes through the library's queue with a
 * payload of ours; the reply is taken off the pending queue before the
 * library sees it (`takeOwnReply`, called by the fast paths' frame
 * splitter) and decoded by the decoder the request carries.
 *
 * Only with the wire fast paths in (wire-fast-paths.ts), which install the
 * splitter; without them callers use the library's own calls.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** What the library's Request.toBuffer needs of a payload. */
export interface OwnPayload {
  byteLength(): number;
  serialize(buf: Buffer, start: number): number;
  /** Never set: this client keeps namespaces itself (ZkView.full). */
  setChrootPath(): void;
}

/** Decodes a reply's body (after the 16-byte ReplyHeader) at `off`; throws on a body it cannot read. */
export type OwnDecoder<T> = (frame: Buffer, off: number) => T;

const DECODER = Symbol('drover.ownDecoder');

interface Packet {
  request: { header: { xid: number; type: number } | null; [DECODER]?: OwnDecoder<unknown> };
  callback?: (err: unknown, value?: unknown) => void;
}

interface Cm {
  pendingQueue: Packet[];
  zxid?: Buffer;
  queue(request: unknown, cb: (err: unknown, value?: unknown) => void): void;
}

interface LibJute {
  protocol: { RequestHeader: new () => { type: number; xid: number } };
  Request: new (header: unknown, payload: unknown) => Packet['request'];
}

let jute: LibJute | null = null;
let exception: { create(code: number): Error } | null = null;

/** Called by installWireFastPaths once the library's version is known to fit. */
export function enableOwnRequests(): void {
  jute = require('node-zookeeper-client/lib/jute/index.js') as LibJute;
  exception = require('node-zookeeper-client/lib/Exception.js') as { create(code: number): Error };
}

export function ownRequestsAvailable(): boolean {
  return jute !== null;
}

/** Queues one request of `opcode` on the library client's connection; `done` gets the decoded reply or the error. */
export function sendOwn<T>(client: object, opcode: number, payload: OwnPayload, decode: OwnDecoder<T>, done: (err: unknown, value?: T) => void): void {
  if (!jute) throw new Error('own requests need the wire fast paths');
  const header = new jute.protocol.RequestHeader();
  header.type = opcode;
  const request = new jute.Request(header, payload);
  request[DECODER] = decode;
  const cm = (client as { connectionManager: Cm }).connectionManager;
  cm.queue(request, (err, value) => (err ? done(err) : done(null, value as T)));
}

/**
 * If `frame` (length prefix included) answers the own request at the head
 * of the pending queue, settles it and returns true; else leaves it to the
 * library. A body that does not decode fails its request, not the process.
 */
export function takeOwnReply(cm: Cm, frame: Buffer): boolean {
  const head = cm.pendingQueue[0];
  const decode = head?.request[DECODER];
  if (!head || !decode || frame.length < 20 || frame.readInt32BE(4) !== head.request.header?.xid) return false;
  cm.pendingQueue.shift();
  if (frame.readInt32BE(8) !== 0 || frame.readInt32BE(12) !== 0) cm.zxid = Buffer.from(frame.subarray(8, 16));
  const err = frame.readInt32BE(16);
  if (err !== 0) {
    head.callback?.((exception as { create(code: number): Error }).create(err));
    return true;
  }
  let value: unknown;
  try {
    value = decode(frame, 20);
  } catch (e) {
    head.callback?.(e);
    return true;
  }
  head.callback?.(null, value);
  return true;
}
