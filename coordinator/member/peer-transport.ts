/**
 * TCP between ensemble members: one outbound connection to each other
 * member (reconnected with backoff) and whatever inbound ones they open.
 * A link is FIFO while it lasts; when it breaks, the member is told once
 * (`onDisconnected`) and what was sent on it is gone — ZAB re-syncs.
 *
 * Frame: int32 length | type byte | body. Types: 0 hello (int member id,
 * then the sender's quorum address as host ustring + port int: a member
 * not in this one's configuration — a server about to be added by a
 * reconfig — becomes a peer it can answer, ADR 0011),
 * 1 ZAB message, 2 forwarded write, 3 session touches, 4 part of a larger
 * message (more byte | type byte | piece): a message above PART_BYTES (a
 * SNAP of a big tree) travels as consecutive parts, reassembled before it
 * is delivered, so no single frame grows without bound.
 */
import net from 'node:net';
import type { Logger } from 'pino';
import { FrameSplitter } from '../protocol/frames.ts';

export const FrameType = { hello: 0, zab: 1, forward: 2, touch: 3, part: 4 } as const;

export interface PeerAddress {
  host: string;
  port: number;
}

export interface PeerTransportOptions {
  id: number;
  listen: PeerAddress;
  peers: ReadonlyMap<number, PeerAddress>;
  log: Logger;
  /** A member this one did not know said hello from `address` (it is now a peer). */
  onNewPeer?: (id: number, address: PeerAddress) => void;
  onFrame: (from: number, type: number, body: Buffer) => void;
  onDisconnected: (peer: number) => void;
}

const MAX_FRAME = 64 * 1024 * 1024;
/** Messages above this are sent in parts of this size. */
const PART_BYTES = 16 * 1024 * 1024;
/** A reassembled message may not exceed this (a bound on what one peer can make another buffer). */
const MESSAGE_BYTES_MAX = 1024 * 1024 * 1024;

function frameHead(type: number, bodyLength: number): Buffer {
  const head = Buffer.allocUnsafe(5);
  head.writeInt32BE(bodyLength + 1, 0);
  head[4] = type;
  return head;
}

function frame(type: number, body: Buffer): Buffer {
  return Buffer.concat([frameHead(type, body.length), body]);
}

interface Outbound {
  socket: net.Socket | null;
  up: boolean;
  /** Told the member this link is down since it last was up. */
  reported: boolean;
  timer: NodeJS.Timeout | null;
  backoffMs: number;
  /**
   * Frames sent during this turn of the event loop, written together (one
   * writev) when it ends: a proposal, its commit and the next proposal cost
   * one syscall instead of three — on loopback a write is a large share of
   * a small transaction's CPU.
   */
  queued: Buffer[];
  flushing: boolean;
}

/** The quorum address a hello carries after the member id, or null. */
function helloAddress(body: Buffer): PeerAddress | null {
  if (body.length < 12) return null;
  const n = body.readInt32BE(4);
  if (n <= 0 || body.length !== 12 + n) return null;
  const host = body.subarray(8, 8 + n).toString();
  const port = body.readInt32BE(8 + n);
  return port > 0 && port <= 65535 ? { host, port } : null;
}

export class PeerTransport {
  private readonly server: net.Server;
  private readonly out = new Map<number, Outbound>();
  private readonly inbound = new Set<net.Socket>();
  private closed = false;
  private started = false;
  private readonly peers: Map<number, PeerAddress>;

  constructor(private readonly opts: PeerTransportOptions) {
    this.server = net.createServer((s) => this.acceptInbound(s));
    this.peers = new Map(opts.peers);
    for (const id of opts.peers.keys()) this.out.set(id, { socket: null, up: false, reported: true, timer: null, backoffMs: 50, queued: [], flushing: false });
  }

  /**
   * Adds a member, or moves one to a new address (a committed reconfig, or a
   * hello from a member not configured here). Members are never dropped: a
   * removed one stays a non-voting learner, as in ZooKeeper, until it stops.
   */
  setPeer(id: number, addr: PeerAddress): void {
    if (id === this.opts.id || this.closed) return;
    const known = this.peers.get(id);
    if (known && known.host === addr.host && known.port === addr.port) return;
    this.peers.set(id, addr);
    const o = this.out.get(id);
    if (!o) {
      this.out.set(id, { socket: null, up: false, reported: true, timer: null, backoffMs: 50, queued: [], flushing: false });
      if (this.started) this.connect(id);
      return;
    }
    // Moved: the next connection goes to the new address.
    o.socket?.destroy();
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.opts.listen.port, this.opts.listen.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.started = true;
    for (const id of this.out.keys()) this.connect(id);
  }

  /** send() of a message given as parts (written as they are: no copy into one buffer). */
  sendParts(to: number, type: number, parts: Buffer[]): boolean {
    const length = parts.reduce((n, p) => n + p.length, 0);
    if (length > PART_BYTES) return this.send(to, type, Buffer.concat(parts, length));
    const o = this.upLink(to);
    if (!o) return false;
    this.enqueue(o, frameHead(type, length), ...parts);
    return true;
  }

  /** False when the link is down: the message is lost and the member has been (or is now) told. */
  send(to: number, type: number, body: Buffer): boolean {
    const o = this.upLink(to);
    if (!o) return false;
    if (body.length <= PART_BYTES) {
      this.enqueue(o, frameHead(type, body.length), body);
      return true;
    }
    if (body.length > MESSAGE_BYTES_MAX) throw new RangeError(`a ${body.length}-byte message to member ${to} exceeds ${MESSAGE_BYTES_MAX} bytes`);
    for (let off = 0; off < body.length; off += PART_BYTES) {
      const piece = body.subarray(off, Math.min(body.length, off + PART_BYTES));
      const head = Buffer.from([off + PART_BYTES < body.length ? 1 : 0, type]);
      this.enqueue(o, frameHead(FrameType.part, head.length + piece.length), head, piece);
    }
    return true;
  }

  /** The link to `to` when it is up; null when down (telling the member once per outage). */
  private upLink(to: number): Outbound | null {
    const o = this.out.get(to);
    if (!o) return null;
    if (o.up && o.socket) return o;
    if (!o.reported) {
      o.reported = true;
      queueMicrotask(() => this.opts.onDisconnected(to));
    }
    return null;
  }

  private enqueue(o: Outbound, ...bufs: Buffer[]): void {
    o.queued.push(...bufs);
    if (o.flushing) return;
    o.flushing = true;
    setImmediate(() => {
      o.flushing = false;
      const bufs = o.queued;
      o.queued = [];
      const socket = o.socket;
      // A link that went down meanwhile loses them, as a write to a closing socket would.
      if (!socket || !o.up || bufs.length === 0) return;
      socket.cork();
      for (const b of bufs) socket.write(b);
      socket.uncork();
    });
  }

  private connect(id: number): void {
    const o = this.out.get(id);
    const addr = this.peers.get(id);
    if (!o || !addr || this.closed) return;
    const s = net.connect(addr.port, addr.host);
    s.setNoDelay(true);
    o.socket = s;
    s.on('connect', () => {
      o.up = true;
      o.reported = false;
      o.backoffMs = 50;
      const host = Buffer.from(this.opts.listen.host);
      const hello = Buffer.alloc(12 + host.length);
      hello.writeInt32BE(this.opts.id, 0);
      hello.writeInt32BE(host.length, 4);
      host.copy(hello, 8);
      hello.writeInt32BE(this.opts.listen.port, 8 + host.length);
      s.write(frame(FrameType.hello, hello));
    });
    s.on('data', () => undefined); // outbound links carry nothing back
    s.on('error', () => undefined);
    s.on('close', () => {
      const wasUp = o.up;
      o.up = false;
      o.socket = null;
      o.queued = [];
      if (wasUp && !o.reported) {
        o.reported = true;
        this.opts.onDisconnected(id);
      }
      if (this.closed) return;
      o.timer = setTimeout(() => this.connect(id), o.backoffMs);
      o.backoffMs = Math.min(1000, o.backoffMs * 2);
    });
  }

  private acceptInbound(s: net.Socket): void {
    this.inbound.add(s);
    s.setNoDelay(true);
    const splitter = new FrameSplitter(MAX_FRAME);
    let from = -1;
    let parts: Buffer[] = [];
    let partBytes = 0;
    s.on('data', (chunk: Buffer) => {
      let frames: Buffer[];
      try {
        frames = splitter.push(chunk);
      } catch {
        s.destroy();
        return;
      }
      for (const f of frames) {
        if (f.length < 1) continue;
        const type = f[0] as number;
        const body = f.subarray(1);
        if (type === FrameType.hello) {
          from = body.length >= 4 ? body.readInt32BE(0) : -1;
          if (from >= 0 && !this.peers.has(from)) {
            const addr = helloAddress(body);
            if (!addr) {
              s.destroy();
              return;
            }
            this.setPeer(from, addr);
            this.opts.onNewPeer?.(from, addr);
          }
          if (!this.peers.has(from)) s.destroy();
          continue;
        }
        if (from < 0) {
          s.destroy();
          return;
        }
        if (type === FrameType.part) {
          partBytes += body.length - 2;
          if (body.length < 2 || partBytes > MESSAGE_BYTES_MAX) {
            s.destroy();
            return;
          }
          parts.push(body.subarray(2));
          if (body[0] === 1) continue;
          const whole = Buffer.concat(parts, partBytes);
          parts = [];
          partBytes = 0;
          this.opts.onFrame(from, body[1] as number, whole);
          continue;
        }
        this.opts.onFrame(from, type, body);
      }
    });
    s.on('error', () => undefined);
    s.on('close', () => {
      this.inbound.delete(s);
      if (from >= 0 && !this.closed) this.opts.onDisconnected(from);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const o of this.out.values()) {
      if (o.timer) clearTimeout(o.timer);
      o.socket?.destroy();
    }
    for (const s of this.inbound) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
