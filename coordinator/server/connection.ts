/**
 * One client socket: framing, the handshake flag, auth ids and the ordered
 * output queue.
 *
 * Every reply and notification is queued with a release zxid: the last zxid
 * the server had prepared when the output was produced. Output leaves only
 * once that zxid is durable (committed), and always in queue order. That is
 * what lets the server apply writes speculatively and still never show a
 * client state that a crash could take back, and it keeps a watch event ahead
 * of any later reply on the same connection.
 */
import type { Socket } from 'node:net';
import type { Id, Request, RequestHeader } from '../protocol/records.ts';
import { FrameSplitter } from '../protocol/frames.ts';
import { limits } from '../base/limits.ts';

export interface ConnectionStats {
  received: number;
  sent: number;
  establishedAt: number;
  lastOp: string;
  lastCxid: number;
  lastZxid: number;
  lastResponseAt: number;
  lastLatencyMs: number;
  minLatencyMs: number;
  maxLatencyMs: number;
  totalLatencyMs: number;
  latencyCount: number;
}

export class Connection {
  readonly splitter: FrameSplitter;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** 0n until the handshake has produced a session. */
  sessionId = 0n;
  handshakeDone = false;
  /** Whether the ConnectRequest carried the readOnly byte (then the response must too). */
  readOnlyByte: boolean | undefined = undefined;
  authIds: Id[];
  closed = false;
  /** Set once closeSession's reply is queued: close the socket after it is written. */
  closeAfterFlush = false;
  /** First bytes of a new connection, until we know whether it is a four-letter word. */
  sniff: Buffer | null = Buffer.alloc(0);
  readPaused = false;
  /**
   * Follower only: requests behind a write forwarded to the leader. A reply
   * must not overtake an earlier one, so local requests wait here until every
   * forward before them is answered. 'fwd' marks a forwarded write in order.
   */
  readonly pipeline: ({ kind: 'fwd' } | { kind: 'local'; header: RequestHeader; req: Request; receivedAt: number })[] = [];

  private readonly outBufs: Buffer[] = [];
  private readonly outZxids: number[] = [];
  private readonly outStarts: number[] = [];
  private head = 0;

  readonly stats: ConnectionStats;

  constructor(
    readonly socket: Socket,
    maxFrameBytes: number,
    now: number,
  ) {
    this.splitter = new FrameSplitter(maxFrameBytes);
    this.remoteAddress = normalizeAddress(socket.remoteAddress ?? '');
    this.remotePort = socket.remotePort ?? 0;
    this.authIds = [{ scheme: 'ip', id: this.remoteAddress }];
    this.stats = {
      received: 0,
      sent: 0,
      establishedAt: now,
      lastOp: 'NA',
      lastCxid: -1,
      lastZxid: -1,
      lastResponseAt: 0,
      lastLatencyMs: 0,
      minLatencyMs: Number.MAX_SAFE_INTEGER,
      maxLatencyMs: 0,
      totalLatencyMs: 0,
      latencyCount: 0,
    };
  }

  /** Outputs queued and not yet released to the socket. */
  get queued(): number {
    return this.outBufs.length - this.head;
  }

  enqueue(frame: Buffer, releaseZxid: number, startedAt: number): void {
    this.outBufs.push(frame);
    this.outZxids.push(releaseZxid);
    this.outStarts.push(startedAt);
  }

  /**
   * Writes every queued output whose zxid is durable, in one socket write.
   * Returns the latencies (ms) of released outputs that had a start time, via the callback.
   */
  release(committedZxid: number, now: number, onLatency: (ms: number) => void): void {
    if (this.closed) return;
    const start = this.head;
    let end = start;
    const n = this.outBufs.length;
    while (end < n && (this.outZxids[end] as number) <= committedZxid) end++;
    if (end === start) {
      if (this.closeAfterFlush && this.queued === 0) this.close();
      return;
    }
    let frame: Buffer;
    if (end - start === 1) {
      frame = this.outBufs[start] as Buffer;
    } else {
      frame = Buffer.concat(this.outBufs.slice(start, end));
    }
    for (let i = start; i < end; i++) {
      const t = this.outStarts[i] as number;
      if (t > 0) {
        const ms = now - t;
        onLatency(ms);
        this.noteLatency(ms, now);
      }
    }
    this.stats.sent += end - start;
    this.head = end;
    if (this.head === n) {
      this.outBufs.length = 0;
      this.outZxids.length = 0;
      this.outStarts.length = 0;
      this.head = 0;
    } else if (this.head > 1024) {
      this.outBufs.splice(0, this.head);
      this.outZxids.splice(0, this.head);
      this.outStarts.splice(0, this.head);
      this.head = 0;
    }
    this.socket.write(frame);
    if (this.closeAfterFlush && this.queued === 0) this.close();
  }

  /** True when this connection should stop reading: too much unreleased or unsent output. */
  overloaded(): boolean {
    return this.queued >= limits.outstandingPerConnectionMax || this.socket.writableLength >= limits.outboundBytesHighWater;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.end();
    // A peer that never reads must not keep the fd open forever.
    this.socket.setTimeout(2000, () => this.socket.destroy());
  }

  destroy(): void {
    this.closed = true;
    this.socket.destroy();
  }

  private noteLatency(ms: number, now: number): void {
    const s = this.stats;
    s.lastLatencyMs = ms;
    s.lastResponseAt = now;
    if (ms < s.minLatencyMs) s.minLatencyMs = ms;
    if (ms > s.maxLatencyMs) s.maxLatencyMs = ms;
    s.totalLatencyMs += ms;
    s.latencyCount++;
  }
}

/** Node reports IPv4 peers on dual-stack sockets as ::ffff:a.b.c.d; ACLs want a.b.c.d. */
function normalizeAddress(addr: string): string {
  return addr.startsWith('::ffff:') && addr.includes('.') ? addr.slice(7) : addr;
}
