/**
 * A loopback TCP proxy a test can cut and restore, to put a real client
 * through SUSPENDED and LOST on any backend without touching the server:
 * `cut()` drops every connection and refuses new ones until `restore()`.
 * `loseReplyTo(opType)` delivers the next request of that ZooKeeper opcode,
 * lets the server apply it, and drops its reply with the connection: the
 * write whose outcome the client cannot see.
 */
import net from 'node:net';

export interface TcpProxy {
  /** host:port to connect through. */
  readonly address: string;
  cut(): void;
  restore(): void;
  /**
   * Arms a lost reply: the next request with this opcode (e.g. 14 multi,
   * 1 create, 5 setData) reaches the server, and when its reply comes back
   * the connection is dropped instead. Resolves with that reply's error
   * code (0 = the server applied it) once it was dropped. Several opcodes
   * arm for whichever comes first; `match` narrows it to the request whose
   * frame (xid, opcode, body) it accepts, e.g. one naming a given path.
   */
  loseReplyTo(opType: number | readonly number[], match?: (request: Buffer) => boolean): Promise<number>;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  let open = true;
  let armed: { opTypes: readonly number[]; match: ((request: Buffer) => boolean) | undefined; lost: (err: number) => void } | null = null;
  const server = net.createServer((inbound) => {
    if (!open) {
      inbound.destroy();
      return;
    }
    const outbound = net.connect(target.port, target.host);
    sockets.add(inbound);
    sockets.add(outbound);
    let dropped = false;
    const drop = (): void => {
      dropped = true;
      inbound.destroy();
      outbound.destroy();
      sockets.delete(inbound);
      sockets.delete(outbound);
    };
    inbound.on('error', drop).on('close', drop);
    outbound.on('error', drop).on('close', drop);
    // Requests pass through untouched; we only note the xid of the armed opcode's next request.
    let doomedXid: number | null = null;
    let doomed: ((err: number) => void) | null = null;
    const requests = frames((frame, first) => {
      if (first || !armed || doomedXid !== null || frame.length < 8 || !armed.opTypes.includes(frame.readInt32BE(4))) return;
      if (armed.match && !armed.match(frame)) return;
      doomedXid = frame.readInt32BE(0);
      doomed = armed.lost;
      armed = null;
    });
    inbound.on('data', (chunk: Buffer) => {
      requests(chunk);
      if (!dropped) outbound.write(chunk);
    });
    // Replies are forwarded frame by frame, so the doomed one can be held back whole.
    const replies = frames((frame, first, raw) => {
      if (dropped) return;
      if (!first && doomedXid !== null && frame.length >= 16 && frame.readInt32BE(0) === doomedXid) {
        const err = frame.readInt32BE(12);
        drop();
        doomed?.(err);
        return;
      }
      inbound.write(raw);
    });
    outbound.on('data', replies);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const cut = (): void => {
    open = false;
    for (const s of sockets) s.destroy();
    sockets.clear();
  };
  return {
    address: `127.0.0.1:${port}`,
    cut,
    restore() {
      open = true;
    },
    loseReplyTo(opType, match) {
      const opTypes = typeof opType === 'number' ? [opType] : opType;
      return new Promise<number>((resolve) => (armed = { opTypes, match, lost: resolve }));
    },
    async close() {
      cut();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Splits a stream of 4-byte-length-prefixed frames; `first` marks the connect frame. */
function frames(onFrame: (frame: Buffer, first: boolean, raw: Buffer) => void): (chunk: Buffer) => void {
  let pending: Buffer = Buffer.alloc(0);
  let first = true;
  return (chunk) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= 4) {
      const len = pending.readInt32BE(0);
      if (pending.length < 4 + len) break;
      const raw = pending.subarray(0, 4 + len);
      pending = pending.subarray(4 + len);
      onFrame(raw.subarray(4), first, raw);
      first = false;
    }
  };
}
