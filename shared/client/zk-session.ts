/**
 * One coordination session over node-zookeeper-client, kept alive across
 * everything the network does: it maps the library's states onto Curator's
 * (connection-state.ts), declares LOST when the session timeout passes while
 * SUSPENDED (as Curator does, since the server will have expired it), and
 * after LOST replaces the library client so a new session is made — the
 * library itself stops for good on expiry, which is how workers "go deaf".
 */
import zookeeper, { type Client, type State } from 'node-zookeeper-client';
import type { Logger } from 'pino';
import type { ConnectionState, StateChange, StateListener } from './coordination.ts';
import { isConnected, nextState, type ConnectionInput, type MachineState } from './connection-state.ts';
import { DroverError } from '../errors.ts';
import { WatchFanout } from './watch-fanout.ts';
import { componentLogger, silentLogger } from '../log.ts';
import { installWireFastPaths } from './wire-fast-paths.ts';

export interface SessionOptions {
  /** host:port[,host:port...] */
  connect: string;
  sessionTimeoutMs: number;
  /** How long an operation waits for a connection before failing with CONNECTION_LOSS. */
  connectTimeoutMs: number;
  logger?: Logger;
}

export class ZkSession {
  private client: Client;
  private machine: MachineState = 'LATENT';
  private readonly listeners = new Set<StateListener>();
  private readonly waiters = new Set<() => void>();
  private suspendTimer: NodeJS.Timeout | null = null;
  private readonly auth: { scheme: string; auth: string }[] = [];
  private readonly log: Logger;
  private closing: Promise<void> | null = null;
  private lastSessionId = '0';
  /** Watch registrations of the current library client (shared by every namespace view). */
  readonly fanout = new WatchFanout();

  constructor(private readonly opts: SessionOptions) {
    this.log = componentLogger(opts.logger ?? silentLogger, 'coordination');
    this.client = this.newClient();
  }

  get state(): ConnectionState {
    return this.machine === 'LATENT' ? 'SUSPENDED' : this.machine;
  }

  /** The last established session's id: kept while SUSPENDED, replaced once a new session connects. */
  get sessionId(): string {
    if (isConnected(this.machine)) this.lastSessionId = this.client.getSessionId().toString('hex');
    return this.lastSessionId;
  }

  /** The library client to send a request on, once connected (waits up to connectTimeoutMs). */
  async ready(): Promise<Client> {
    if (this.machine === 'CLOSED') throw new DroverError('DROVER_CLOSED', 'the coordination client is closed');
    if (isConnected(this.machine)) return this.client;
    await this.waitConnected(this.opts.connectTimeoutMs);
    return this.client;
  }

  /**
   * The library client when a request may go out at once: connected, and no
   * request still waiting for the connection (they go first, in order).
   */
  connectedClient(): Client | null {
    return isConnected(this.machine) && this.waiters.size === 0 ? this.client : null;
  }

  waitConnected(timeoutMs: number): Promise<void> {
    if (isConnected(this.machine)) return Promise.resolve();
    if (this.machine === 'CLOSED') return Promise.reject(new DroverError('DROVER_CLOSED', 'the coordination client is closed'));
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(done);
        if (this.machine === 'CLOSED') reject(new DroverError('DROVER_CLOSED', 'the coordination client is closed'));
        else resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(done);
        reject(new DroverError('DROVER_NOT_CONNECTED', `not connected to ${this.opts.connect} within ${timeoutMs} ms: is a server running there?`));
      }, timeoutMs);
      this.waiters.add(done);
    });
  }

  onState(listener: StateListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  addAuth(scheme: string, auth: string): void {
    this.auth.push({ scheme, auth });
    this.client.addAuthInfo(scheme, Buffer.from(auth));
  }

  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    const client = this.client;
    const wasConnected = isConnected(this.machine);
    this.transition('closed');
    if (!wasConnected) {
      client.close();
      return;
    }
    // Wait for the closeSession round trip so the session's ephemerals are gone when this resolves.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 2_000);
      client.once('disconnected', () => {
        clearTimeout(timer);
        resolve();
      });
      client.close();
    });
  }

  private newClient(): Client {
    installWireFastPaths(); // before the library's connection manager exists: it binds its handlers once
    const client = zookeeper.createClient(this.opts.connect, {
      sessionTimeout: this.opts.sessionTimeoutMs,
      // Failover speed: the library pauses this long after trying every server once.
      spinDelay: 100,
      retries: 0,
    });
    for (const a of this.auth) client.addAuthInfo(a.scheme, Buffer.from(a.auth));
    coalesceWrites(client);
    client.on('state', (s: State) => {
      if (client !== this.client) return; // a replaced client's last words
      const input = toInput(s);
      if (input) this.transition(input);
    });
    client.connect();
    return client;
  }

  private transition(input: ConnectionInput): void {
    const change = nextState(this.machine, input);
    if (!change) return;
    this.machine = change.state;
    this.clearSuspendTimer();
    if (change.state === 'SUSPENDED') {
      // The server expires the session once its timeout passes without us; act on that ourselves.
      const timeout = this.client.getSessionTimeout() || this.opts.sessionTimeoutMs;
      this.suspendTimer = setTimeout(() => this.transition('suspend-timeout'), timeout);
    }
    if (change.state === 'LOST') {
      this.fanout.reset();
      const old = this.client;
      this.client = this.newClient();
      old.close();
    }
    this.log.info({ state: change.state, sessionChanged: change.sessionChanged, sessionId: this.sessionId }, 'connection state');
    if (isConnected(change.state) || change.state === 'CLOSED') {
      for (const w of [...this.waiters]) w();
    }
    this.emit(change);
  }

  private emit(change: StateChange): void {
    for (const l of [...this.listeners]) {
      try {
        l(change);
      } catch (err) {
        this.log.error({ err }, 'a connection state listener threw');
      }
    }
  }

  private clearSuspendTimer(): void {
    if (this.suspendTimer) clearTimeout(this.suspendTimer);
    this.suspendTimer = null;
  }
}

/** The library's connection internals that coalesceWrites touches (node-zookeeper-client 1.x). */
interface LibConnectionManager {
  packetQueue?: NodeJS.EventEmitter;
  socket?: { cork(): void; uncork(): void } | null;
  onPacketQueueReadable?: () => void;
}

/**
 * The library writes every request to the socket the moment it is queued: a
 * claim's pipelined gets were one write syscall (and one TCP segment for the
 * server to read) each, the largest CPU cost per job on both sides. Here the
 * queue is drained once per tick instead, corked, so everything a tick asks
 * goes out in one writev. Order (and xid order) is the queue's, as before.
 */
function coalesceWrites(client: Client): void {
  const cm = (client as unknown as { connectionManager?: LibConnectionManager }).connectionManager;
  const queue = cm?.packetQueue;
  const drain = cm?.onPacketQueueReadable;
  if (!cm || !queue || typeof drain !== 'function' || queue.listenerCount('readable') !== 1) return; // another library version: leave it be
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    const socket = cm.socket;
    socket?.cork();
    try {
      drain.call(cm);
    } finally {
      socket?.uncork();
    }
  };
  queue.removeAllListeners('readable');
  queue.on('readable', () => {
    if (scheduled) return;
    scheduled = true;
    process.nextTick(flush);
  });
}

function toInput(s: State): ConnectionInput | null {
  switch (s.code) {
    case zookeeper.State.SYNC_CONNECTED.code:
    case zookeeper.State.CONNECTED_READ_ONLY.code:
      return 'connected';
    case zookeeper.State.DISCONNECTED.code:
      return 'disconnected';
    case zookeeper.State.EXPIRED.code:
      return 'expired';
    default:
      // AUTH_FAILED: the library closes the connection; report it as a lost session.
      return 'expired';
  }
}
