/**
 * A minimal raw ZooKeeper client over node:net on Drover's codec, for the
 * opcodes node-zookeeper-client cannot send (create2, containers, TTL,
 * addWatch, removeWatches, getEphemerals, whoAmI, multiRead, sync, ...).
 * Replies resolve whatever their err: tests assert on header.err.
 */
import net from 'node:net';
import { encodeConnectRequest, encodeRequest } from '../../coordinator/protocol/request-codec.ts';
import { decodeConnectResponse, decodeNotification, decodeReply } from '../../coordinator/protocol/reply-codec.ts';
import { FrameSplitter } from '../../coordinator/protocol/frames.ts';
import type { ConnectResponse, ReplyHeader, Request, Response, WatcherEvent } from '../../coordinator/protocol/records.ts';

export interface RawConnectOptions {
  timeoutMs?: number;
  sessionId?: bigint;
  passwd?: Buffer;
  readOnly?: boolean | undefined;
  lastZxidSeen?: number;
}

interface Pending {
  op: number;
  resolve: (r: { header: ReplyHeader; response: Response | null }) => void;
  reject: (e: Error) => void;
}

export class RawClient {
  private xid = 1;
  private readonly pending: Pending[] = [];
  private readonly events: WatcherEvent[] = [];
  private eventWaiters: ((e: WatcherEvent) => void)[] = [];
  private readonly splitter = new FrameSplitter(16 * 1024 * 1024);
  private onConnectReply: ((body: Buffer) => void) | null = null;
  session!: ConnectResponse;
  readonly closed: Promise<void>;

  private constructor(readonly socket: net.Socket) {
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      for (const p of this.pending.splice(0)) p.reject(new Error('connection closed'));
    });
  }

  static async connect(host: string, port: number, opts: RawConnectOptions = {}): Promise<RawClient> {
    const socket = net.connect(port, host);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const c = new RawClient(socket);
    c.session = await c.handshake(opts);
    return c;
  }

  private handshake(opts: RawConnectOptions): Promise<ConnectResponse> {
    return new Promise((resolve, reject) => {
      this.onConnectReply = (body) => resolve(decodeConnectResponse(body));
      void this.closed.then(() => reject(new Error('closed during handshake')));
      this.socket.write(
        encodeConnectRequest({
          protocolVersion: 0,
          lastZxidSeen: opts.lastZxidSeen ?? 0,
          timeOut: opts.timeoutMs ?? 10_000,
          sessionId: opts.sessionId ?? 0n,
          passwd: opts.passwd ?? Buffer.alloc(16),
          readOnly: 'readOnly' in opts ? opts.readOnly : false,
        }),
      );
    });
  }

  private onData(chunk: Buffer): void {
    for (const body of this.splitter.push(chunk)) {
      if (this.onConnectReply) {
        const f = this.onConnectReply;
        this.onConnectReply = null;
        f(body);
        continue;
      }
      if (body.readInt32BE(0) === -1) {
        const e = decodeNotification(body);
        const w = this.eventWaiters.shift();
        if (w) w(e);
        else this.events.push(e);
        continue;
      }
      const p = this.pending.shift();
      if (!p) continue;
      try {
        p.resolve(decodeReply(body, p.op));
      } catch (err) {
        p.reject(err as Error);
      }
    }
  }

  request(req: Request, xid?: number): Promise<{ header: ReplyHeader; response: Response | null }> {
    return new Promise((resolve, reject) => {
      this.pending.push({ op: req.op, resolve, reject });
      this.socket.write(encodeRequest({ xid: xid ?? this.xid++, type: req.op }, req));
    });
  }

  /** The next watch event, or a rejection after `timeoutMs`. */
  nextEvent(timeoutMs = 5000): Promise<WatcherEvent> {
    const queued = this.events.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.eventWaiters = this.eventWaiters.filter((w) => w !== waiter);
        reject(new Error(`no watch event within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = (e: WatcherEvent): void => {
        clearTimeout(t);
        resolve(e);
      };
      this.eventWaiters.push(waiter);
    });
  }

  /** Events received so far and not yet taken. */
  drainEvents(): WatcherEvent[] {
    return this.events.splice(0);
  }

  sendRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  close(): void {
    this.socket.destroy();
  }
}

export const OPEN_ACL = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];
