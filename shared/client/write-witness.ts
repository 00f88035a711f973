/**
 * The client's one answer to "was my write applied?" (docs/adr/0009-write-witness.md).
 *
 * ZooKeeper does not tell a client whether a request whose reply was lost
 * (the connection dropped after the server applied it) took effect, and a
 * blind re-send collides with the first try: NODE_EXISTS, BAD_VERSION,
 * NO_NODE for a write that in fact succeeded. So every write that cannot
 * simply be repeated goes out as a multi carrying one more op: it sets a
 * witness znode of this session, `<root>/.writes/<sessionId>-<slot>`
 * (ephemeral), to the write's sequence number. The multi is atomic, so the
 * witness holds that number exactly when the write was applied. After a
 * lost reply the client reconnects, orders a barrier behind anything it sent
 * before (a one-check multi goes through the leader), reads the witness and
 * either rebuilds the results (applied) or sends again (not applied).
 *
 * A slot is reused only after its write's outcome is known, so at most
 * `slots` writes of a session are in flight; the rest wait for a slot. When
 * the session itself ends before the answer came, the ephemeral witness is
 * gone with it: that write fails with DROVER_WRITE_UNKNOWN, the truth.
 */
import type { Op, OpResult, Stat } from './coordination.ts';
import { ZkCode, ZkError } from './zk-error.ts';
import { DroverError } from '../errors.ts';

/** What the witness needs from the client; paths are absolute (no namespace). */
export interface WitnessIo {
  /** The current session's id; waits for a connection first. Throws what a request would. */
  connectedSession(): Promise<string>;
  /** One try of `ops` plus the witness op, all in one multi; results exclude the witness op's. */
  sendOnce(ops: Op[], witness: Op): Promise<OpResult[]>;
  /** A write (one-check multi) through the leader: everything this session sent before is applied where we read next. */
  barrier(path: string): Promise<void>;
  get(path: string): Promise<{ data: Buffer; stat: Stat } | null>;
  exists(path: string): Promise<Stat | null>;
  children(path: string): Promise<string[]>;
  /** Creates the witnesses' directory (its parent, the namespace root, must exist: a mistyped root is not made). */
  makeDir(path: string): Promise<void>;
  /** The retry policy's pause before try number `retries` (null: give up). */
  delayBeforeRetry(retries: number, elapsedMs: number): number | null;
  /** The absolute form of an op's path. */
  full(path: string): string;
}

const RETRYABLE = new Set<number>([ZkCode.CONNECTION_LOSS, ZkCode.OPERATION_TIMEOUT]);

export class WriteWitness {
  private seq = 0;
  private readonly free: number[] = [];
  private readonly waiting: (() => void)[] = [];
  /** Slots known to exist, for the session named. */
  private known = new Set<number>();
  private knownSession = '';
  private dirReady: Promise<void> | null = null;

  constructor(
    /** Absolute path of the witnesses' parent, e.g. '/drover/.writes'. */
    readonly dir: string,
    slots = 128,
  ) {
    for (let s = slots - 1; s >= 0; s--) this.free.push(s);
  }

  /** Sends `ops` (paths relative to the view `io` serves) so that its outcome is always known. */
  async write(io: WitnessIo, ops: Op[]): Promise<OpResult[]> {
    const slot = await this.takeSlot();
    try {
      return await this.writeWith(io, ops, slot, ++this.seq);
    } finally {
      this.free.push(slot);
      this.waiting.shift()?.();
    }
  }

  private async takeSlot(): Promise<number> {
    while (this.free.length === 0) await new Promise<void>((resolve) => this.waiting.push(resolve));
    return this.free.pop() as number;
  }

  private async writeWith(io: WitnessIo, ops: Op[], slot: number, seq: number): Promise<OpResult[]> {
    this.dirReady ??= io.makeDir(this.dir).catch((err: unknown) => {
      this.dirReady = null;
      throw err;
    });
    await this.dirReady;
    const mark = Buffer.from(String(seq));
    const started = Date.now();
    for (let retries = 0; ; ) {
      const session = await io.connectedSession();
      const path = `${this.dir}/${session}-${slot}`;
      const witness: Op = this.isKnown(session, slot) ? { op: 'set', path, data: mark } : { op: 'create', path, data: mark, mode: 'ephemeral' };
      try {
        const results = await io.sendOnce(ops, witness);
        this.markKnown(session, slot);
        return results;
      } catch (err) {
        if (!(err instanceof ZkError)) throw err;
        if (err.opIndex === ops.length) {
          // The witness op itself failed: its slot is not as we thought (left by an unanswered write, or gone). Nothing was applied.
          if (err.code === ZkCode.NODE_EXISTS) this.markKnown(session, slot);
          else if (err.code === ZkCode.NO_NODE) this.known.delete(slot);
          else throw err;
          continue;
        }
        if (!RETRYABLE.has(err.code)) throw err;
        const applied = await this.lookUp(io, ops, session, slot, mark, err);
        if (applied) return applied;
        retries += 1;
        const delay = io.delayBeforeRetry(retries, Date.now() - started);
        if (delay === null) throw err;
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  /** After a lost reply: the results if the write was applied, null if it was not (send it again). */
  private async lookUp(io: WitnessIo, ops: Op[], session: string, slot: number, mark: Buffer, lost: ZkError): Promise<OpResult[] | null> {
    const unknown = (cause: unknown): DroverError =>
      new DroverError('DROVER_WRITE_UNKNOWN', 'the session ended before the reply to a write came back: it may or may not have been applied', { cause });
    try {
      if ((await io.connectedSession()) !== session) throw unknown(lost);
      await io.barrier(this.dir);
      const got = await io.get(`${this.dir}/${session}-${slot}`);
      if ((await io.connectedSession()) !== session) throw unknown(lost);
      if (got === null) return null;
      this.markKnown(session, slot);
      if (!got.data.equals(mark)) return null;
      return await this.rebuild(io, ops, got.stat.mzxid);
    } catch (err) {
      // Still disconnected or a new session: the answer stays unknown only if the session is gone.
      if (err instanceof DroverError && err.code === 'DROVER_WRITE_UNKNOWN') throw err;
      if (err instanceof ZkError && (err.code === ZkCode.SESSION_EXPIRED || err.code === ZkCode.SESSION_MOVED)) throw unknown(err);
      throw err;
    }
  }

  /** The results an applied multi would have answered, from the tree as it is now (the multi's zxid tells its own writes). */
  private async rebuild(io: WitnessIo, ops: Op[], zxid: number): Promise<OpResult[]> {
    const results: OpResult[] = [];
    for (const o of ops) {
      switch (o.op) {
        case 'create':
          results.push({ op: 'create', path: o.mode?.endsWith('sequential') ? await this.sequentialName(io, o.path, zxid) : o.path });
          break;
        case 'set': {
          const stat = await io.exists(io.full(o.path));
          // Written since by someone else: what our set left is its version + 1, at our zxid.
          if (stat && stat.mzxid === zxid) results.push({ op: 'set', stat });
          else results.push({ op: 'set', stat: { ...(stat ?? EMPTY_STAT), mzxid: zxid, version: (o.version ?? -1) >= 0 ? (o.version as number) + 1 : (stat?.version ?? 0) } });
          break;
        }
        case 'delete':
          results.push({ op: 'delete' });
          break;
        case 'check':
          results.push({ op: 'check' });
          break;
      }
    }
    return results;
  }

  /** The name a sequential create got: its czxid is the multi's zxid; names after it are higher, so walk down from the highest. */
  private async sequentialName(io: WitnessIo, path: string, zxid: number): Promise<string> {
    const cut = path.lastIndexOf('/');
    const parent = path.slice(0, cut) || '/';
    const prefix = path.slice(cut + 1);
    const names = (await io.children(io.full(parent)))
      .filter((n) => n.startsWith(prefix) && /^\d{10}$/.test(n.slice(prefix.length)))
      .sort((a, b) => Number(b.slice(prefix.length)) - Number(a.slice(prefix.length)));
    const base = parent === '/' ? '' : parent;
    for (const n of names) {
      const stat = await io.exists(io.full(`${base}/${n}`));
      if (!stat) continue;
      if (stat.czxid === zxid) return `${base}/${n}`;
      if (stat.czxid < zxid) break;
    }
    // Applied, and already deleted again by someone: the name is gone with it.
    return path;
  }

  private isKnown(session: string, slot: number): boolean {
    return this.knownSession === session && this.known.has(slot);
  }

  private markKnown(session: string, slot: number): void {
    if (this.knownSession !== session) {
      this.knownSession = session;
      this.known = new Set();
    }
    this.known.add(slot);
  }
}

const EMPTY_STAT: Stat = {
  czxid: 0,
  mzxid: 0,
  pzxid: 0,
  ctime: 0,
  mtime: 0,
  version: 0,
  cversion: 0,
  aversion: 0,
  ephemeralOwner: '0',
  dataLength: 0,
  numChildren: 0,
};
