/**
 * Sessions and their expiry, in tick buckets as ZooKeeper's ExpiryQueue:
 * a session expires at roundUp(lastTouch + timeout, tick), every packet
 * moves it to a later bucket, and one sweep per tick takes a whole bucket.
 */
import { JuteReader } from '../protocol/reader.ts';
import { JuteWriter } from '../protocol/writer.ts';

interface Session {
  timeoutMs: number;
  expiresAt: number;
  closing: boolean;
}

export function negotiateTimeout(requested: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, requested));
}

export class SessionTable {
  private readonly sessions = new Map<bigint, Session>();
  private readonly buckets = new Map<number, Set<bigint>>();
  /** The next bucket time the sweep will look at. */
  private cursor = -1;

  constructor(private readonly tickMs: number) {}

  get size(): number {
    return this.sessions.size;
  }

  private roundUp(t: number): number {
    return (Math.floor(t / this.tickMs) + 1) * this.tickMs;
  }

  private unbucket(id: bigint, at: number): void {
    const b = this.buckets.get(at);
    if (b && b.delete(id) && b.size === 0) this.buckets.delete(at);
  }

  private place(id: bigint, s: Session, expiresAt: number): void {
    if (s.expiresAt === expiresAt && this.buckets.get(expiresAt)?.has(id)) return;
    this.unbucket(id, s.expiresAt);
    s.expiresAt = expiresAt;
    let b = this.buckets.get(expiresAt);
    if (!b) this.buckets.set(expiresAt, (b = new Set()));
    b.add(id);
    if (this.cursor < 0 || expiresAt < this.cursor) this.cursor = expiresAt;
  }

  add(id: bigint, timeoutMs: number, now: number): void {
    const existing = this.sessions.get(id);
    if (existing) {
      existing.timeoutMs = timeoutMs;
      this.place(id, existing, this.roundUp(now + timeoutMs));
      return;
    }
    const s: Session = { timeoutMs, expiresAt: -1, closing: false };
    this.sessions.set(id, s);
    this.place(id, s, this.roundUp(now + timeoutMs));
  }

  /** False for an unknown or closing session. */
  touch(id: bigint, now: number): boolean {
    const s = this.sessions.get(id);
    if (!s || s.closing) return false;
    const at = this.roundUp(now + s.timeoutMs);
    if (at !== s.expiresAt) this.place(id, s, at);
    return true;
  }

  has(id: bigint): boolean {
    return this.sessions.has(id);
  }

  timeoutOf(id: bigint): number | undefined {
    return this.sessions.get(id)?.timeoutMs;
  }

  setClosing(id: bigint): void {
    const s = this.sessions.get(id);
    if (s) s.closing = true;
  }

  isClosing(id: bigint): boolean {
    return this.sessions.get(id)?.closing ?? false;
  }

  remove(id: bigint): void {
    const s = this.sessions.get(id);
    if (!s) return;
    this.unbucket(id, s.expiresAt);
    this.sessions.delete(id);
  }

  /** Sessions whose bucket time has come; they are marked closing and stay until `remove`. */
  expireDue(now: number): bigint[] {
    const out: bigint[] = [];
    if (this.cursor < 0) return out;
    while (this.cursor <= now) {
      const b = this.buckets.get(this.cursor);
      if (b) {
        this.buckets.delete(this.cursor);
        for (const id of b) {
          const s = this.sessions.get(id);
          if (s && !s.closing && s.expiresAt === this.cursor) {
            s.closing = true;
            out.push(id);
          }
        }
      }
      this.cursor += this.tickMs;
      if (this.buckets.size === 0) {
        this.cursor = -1;
        break;
      }
    }
    return out;
  }

  nextExpiryAt(): number | undefined {
    return this.cursor < 0 ? undefined : this.cursor;
  }

  *entries(): Iterable<{ id: bigint; timeoutMs: number; expiresAt: number; closing: boolean }> {
    for (const [id, s] of this.sessions) yield { id, timeoutMs: s.timeoutMs, expiresAt: s.expiresAt, closing: s.closing };
  }

  /** Layout: count int, then per session: id long | timeoutMs int. */
  serialize(): Buffer {
    const w = new JuteWriter(16 + this.sessions.size * 12, false);
    w.int(this.sessions.size);
    for (const [id, s] of this.sessions) w.longBig(id).int(s.timeoutMs);
    return Buffer.from(w.bytes());
  }

  /** Restored sessions get a full timeout from `now`, as after a ZooKeeper restart. */
  static deserialize(buf: Buffer, tickMs: number, now: number): SessionTable {
    return SessionTable.readFrom(new JuteReader(buf), tickMs, now);
  }

  static readFrom(r: JuteReader, tickMs: number, now: number): SessionTable {
    const t = new SessionTable(tickMs);
    const n = r.int();
    for (let i = 0; i < n; i++) t.add(r.longBig(), r.int(), now);
    return t;
  }
}
