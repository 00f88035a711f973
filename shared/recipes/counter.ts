/**
 * A shared integer counter (Curator's DistributedAtomicLong in optimistic
 * mode): the value is decimal text in one znode; `add` and `compareAndSet`
 * write with the version they read (compare-and-set on the znode version)
 * and retry on BAD_VERSION, so concurrent increments never lose an update.
 * A missing node counts as `initial` (default 0) and is created on first write.
 *
 * Connection states:
 * - SUSPENDED: calls wait for the connection, bounded by the client's retry
 *   policy, then fail with CONNECTION_LOSS. Caveat: if a versioned write
 *   was applied but its reply lost, the client's retry of it meets
 *   BAD_VERSION, which looks like a competitor's write, so that `add` is
 *   applied twice (at-least-once under connection loss). Without connection
 *   loss every `add` counts exactly once.
 * - LOST: nothing depends on the session.
 */
import type { Coordination } from '../client/coordination.ts';
import { isZkError } from '../client/zk-error.ts';
import { DroverError } from '../errors.ts';

export interface CounterOptions {
  /** The value of a counter whose node does not exist yet. Default 0. */
  initial?: number;
  /** Give up after this many lost races (BAD_VERSION / NODE_EXISTS) in one call. Default 1000. */
  maxAttempts?: number;
}

export class SharedCounter {
  private readonly initial: number;
  private readonly maxAttempts: number;

  constructor(
    private readonly client: Coordination,
    private readonly path: string,
    opts: CounterOptions = {},
  ) {
    this.initial = opts.initial ?? 0;
    this.maxAttempts = opts.maxAttempts ?? 1000;
    if (!Number.isSafeInteger(this.initial)) throw new DroverError('DROVER_INVALID_ARGUMENT', `initial must be a safe integer, got ${this.initial}`);
  }

  /** The current value. */
  async get(): Promise<number> {
    return (await this.read()).value;
  }

  /** Adds `delta` (may be negative); returns the new value. */
  async add(delta: number): Promise<number> {
    checkInteger('delta', delta);
    for (let attempt = 0; attempt < this.maxAttempts; attempt++) {
      const { value, version } = await this.read();
      const next = value + delta;
      checkInteger('result', next);
      if (await this.write(next, version)) return next;
    }
    throw new DroverError('DROVER_WAIT_TIMEOUT', `counter ${this.path}: gave up after ${this.maxAttempts} lost races`);
  }

  /** Sets `next` if the value is `expected` now; true when it did. */
  async compareAndSet(expected: number, next: number): Promise<boolean> {
    checkInteger('next', next);
    for (let attempt = 0; attempt < this.maxAttempts; attempt++) {
      const { value, version } = await this.read();
      if (value !== expected) return false;
      if (await this.write(next, version)) return true;
      // Lost a race: the value may still be `expected` (written back), so look again.
    }
    throw new DroverError('DROVER_WAIT_TIMEOUT', `counter ${this.path}: gave up after ${this.maxAttempts} lost races`);
  }

  /** version -1: the node does not exist yet. */
  private async read(): Promise<{ value: number; version: number }> {
    try {
      const { data, stat } = await this.client.get(this.path);
      const text = data.toString('utf8');
      const value = Number(text);
      if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(value)) {
        throw new DroverError('DROVER_CORRUPT_STATE', `counter ${this.path} holds ${JSON.stringify(text.slice(0, 40))}, not an integer`);
      }
      return { value, version: stat.version };
    } catch (err) {
      if (isZkError(err, 'NO_NODE')) return { value: this.initial, version: -1 };
      throw err;
    }
  }

  /** False when someone else wrote first. */
  private async write(value: number, version: number): Promise<boolean> {
    const data = Buffer.from(String(value));
    try {
      if (version === -1) {
        const parent = parentOf(this.path);
        if (parent !== '/') await this.client.ensurePath(parent);
        await this.client.create(this.path, data);
      } else {
        await this.client.set(this.path, data, version);
      }
      return true;
    } catch (err) {
      if (isZkError(err, 'BAD_VERSION') || isZkError(err, 'NODE_EXISTS') || isZkError(err, 'NO_NODE')) return false;
      throw err;
    }
  }
}

function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

function checkInteger(what: string, n: number): void {
  if (!Number.isSafeInteger(n)) throw new DroverError('DROVER_INVALID_ARGUMENT', `${what} must be a safe integer, got ${n}`);
}
