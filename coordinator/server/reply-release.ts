/**
 * Replies held until what they may show is durable (ADR 0001): each
 * connection queues its output tagged with the zxid prepared when it was
 * made, and a flush — once per event-loop turn (setImmediate), however many
 * times output was queued or zxids became durable in it — releases to every
 * connection with output what its tags allow, one socket write each. A
 * follower learns of commits one COMMIT at a time: flushing on each cost a
 * socket write per commit per client (~20 µs of system call on the bench VM). Reads behind a write wait for it; a write's
 * reply waits for its fsync.
 */
import type { Connection } from './connection.ts';

/** The latency and packet counters a release updates (the server's). */
export interface ReleaseCounters {
  packetsSent: number;
  minLatencyMs: number;
  maxLatencyMs: number;
  totalLatencyMs: number;
  latencyCount: number;
}

export class ReplyRelease {
  /** Highest zxid that is durable: output tagged up to it may leave. */
  committedZxid: number;
  private readonly dirty = new Set<Connection>();
  private flushScheduled = false;

  constructor(
    private readonly counters: ReleaseCounters,
    committedZxid: number,
  ) {
    this.committedZxid = committedZxid;
  }

  /** Queues `frame` on `conn`, to leave once `zxid` is durable. */
  queue(conn: Connection, frame: Buffer, zxid: number, receivedAt: number): void {
    conn.enqueue(frame, zxid, receivedAt);
    this.markDirty(conn);
  }

  /** `conn` has output that may be releasable (its tags were met meanwhile). */
  markDirty(conn: Connection): void {
    this.dirty.add(conn);
    this.scheduleFlush();
  }

  /** `conn` is gone: nothing more to release to it. */
  forget(conn: Connection): void {
    this.dirty.delete(conn);
  }

  /** Every txn up to `zxid` is durable: release what waited for it (later in this turn). */
  durable(zxid: number): void {
    if (zxid > this.committedZxid) this.committedZxid = zxid;
    if (this.dirty.size > 0) this.scheduleFlush();
  }

  /** One flush per event-loop turn, however often output was queued or zxids became durable in it. */
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(this.flush);
  }

  private readonly onLatency = (ms: number): void => {
    const c = this.counters;
    if (ms < c.minLatencyMs) c.minLatencyMs = ms;
    if (ms > c.maxLatencyMs) c.maxLatencyMs = ms;
    c.totalLatencyMs += ms;
    c.latencyCount++;
  };

  readonly flush = (): void => {
    this.flushScheduled = false;
    const now = performance.now();
    const committed = this.committedZxid;
    for (const conn of this.dirty) {
      const before = conn.queued;
      conn.release(committed, now, this.onLatency);
      this.counters.packetsSent += before - conn.queued;
      if (conn.queued === 0 || conn.closed) this.dirty.delete(conn);
      if (conn.readPaused && !conn.overloaded()) {
        conn.readPaused = false;
        conn.socket.resume();
      }
    }
  };
}
