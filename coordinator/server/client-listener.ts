/**
 * The client port: accepts sockets, enforces maxClientCnxns per IP, tells a
 * four-letter word from a session by the first four bytes, splits frames and
 * applies backpressure (a connection with too much unreleased output stops
 * being read, so one flooding client cannot starve the others).
 */
import net from 'node:net';
import type { Logger } from 'pino';
import { Connection } from './connection.ts';
import type { ZkServer } from './zk-server.ts';
import { isFourLetterWord } from '../protocol/frames.ts';
import { ProtocolError } from '../protocol/error-codes.ts';

export interface ClientListenerOptions {
  host: string;
  port: number;
  maxClientCnxns: number;
  maxFrameBytes: number;
  log: Logger;
  /** Answer a four-letter word; the socket is closed after the reply. */
  fourLetter: (cmd: string) => string;
}

export class ClientListener {
  private readonly server: net.Server;
  private readonly perIp = new Map<string, number>();
  private readonly sockets = new Set<net.Socket>();

  constructor(
    private readonly zk: ZkServer,
    private readonly opts: ClientListenerOptions,
  ) {
    this.server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => this.accept(socket));
  }

  listen(): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.opts.port, this.opts.host, () => {
        this.server.off('error', reject);
        const addr = this.server.address() as net.AddressInfo;
        resolve({ host: addr.address, port: addr.port });
      });
    });
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
    const ip = socket.remoteAddress ?? '';
    const count = (this.perIp.get(ip) ?? 0) + 1;
    const max = this.opts.maxClientCnxns;
    if (max > 0 && count > max) {
      this.opts.log.warn({ ip, max }, 'too many connections from one address; refusing');
      socket.destroy();
      return;
    }
    this.perIp.set(ip, count);
    this.sockets.add(socket);
    const conn = new Connection(socket, this.opts.maxFrameBytes, Date.now());
    this.zk.attach(conn);
    socket.on('data', (chunk: Buffer) => this.onData(conn, chunk));
    socket.on('end', () => {
      // A client that half-closes after a four-letter word still gets its answer.
      if (conn.sniff !== null || conn.handshakeDone) socket.destroy();
    });
    socket.on('error', () => socket.destroy());
    socket.on('drain', () => {
      if (conn.readPaused && !conn.overloaded()) {
        conn.readPaused = false;
        socket.resume();
      }
    });
    socket.on('close', () => {
      this.sockets.delete(socket);
      const n = (this.perIp.get(ip) ?? 1) - 1;
      if (n <= 0) this.perIp.delete(ip);
      else this.perIp.set(ip, n);
      conn.closed = true;
      this.zk.detach(conn);
    });
  }

  private onData(conn: Connection, chunk: Buffer): void {
    if (conn.closed) return;
    if (conn.sniff !== null) {
      const head = conn.sniff.length === 0 ? chunk : Buffer.concat([conn.sniff, chunk]);
      if (head.length < 4) {
        conn.sniff = head;
        return;
      }
      conn.sniff = null;
      const cmd = isFourLetterWord(head.subarray(0, 4));
      if (cmd !== null) {
        conn.closed = true;
        conn.socket.end(this.opts.fourLetter(cmd));
        return;
      }
      chunk = head;
    }
    const receivedAt = performance.now();
    let frames: Buffer[];
    try {
      frames = conn.splitter.push(chunk);
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      // Len error: ZooKeeper closes without a reply.
      this.opts.log.debug({ peer: conn.remoteAddress, err: err.message }, 'bad frame length; closing connection');
      conn.destroy();
      return;
    }
    if (frames.length === 0) return;
    this.zk.touch(conn, Date.now());
    for (const frame of frames) {
      this.zk.onFrame(conn, frame, receivedAt);
      if (conn.closed) return;
    }
    if (conn.overloaded() && !conn.readPaused) {
      conn.readPaused = true;
      conn.socket.pause();
    }
  }
}
