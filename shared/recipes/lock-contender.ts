/**
 * One contender in a sequential-node lock queue, the engine under `Lock` and
 * `ReadWriteLock`: it creates `<dir>/<prefix>NNNNNNNNNN` (EPHEMERAL_SEQUENTIAL,
 * data = a random token), and while a `blocker` rule names a node ahead of
 * it, sets one watch on that node only and waits. The rule is what differs:
 * an exclusive lock waits for its predecessor, a reader for the nearest
 * writer before it, a writer for its predecessor of either kind.
 *
 * Connection states, for a holder:
 * - SUSPENDED: the node (so the lock) is still ours if the session survives,
 *   but another client may get the lock once it expires: a holder that must
 *   never overlap stops work on SUSPENDED (`client.onState`).
 * - LOST (or a new session): the node is gone; `isHeld` turns false and the
 *   `onLost` listeners fire. `release()` then resolves without doing anything.
 * For a waiter: SUSPENDED keeps it waiting; RECONNECTED re-reads the queue;
 * a new session means its node is gone, so it queues again at the back.
 *
 * Not reentrant: a second `acquire()` on the same object while held or
 * acquiring fails with DROVER_INVALID_ARGUMENT. Two objects on one client are
 * two contenders, and exclude each other.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Coordination, StateChange } from '../client/coordination.ts';
import { isZkError } from '../client/zk-error.ts';
import { DroverError } from '../errors.ts';
import { abortableWait, remainingOf, type WaitOptions } from './abortable-wait.ts';
import { isConnected, isConnectionTrouble } from './connection-checks.ts';
import { isOutcomeUnknown } from './outcome-unknown.ts';
import { childPath, sortSequential, type SequentialNode } from './sequential-nodes.ts';
import { deleteEventually } from './eventual-delete.ts';
import { WatchWait } from './watch-wait.ts';
import { componentLogger, silentLogger } from '../log.ts';

/** The node this contender must wait for, or undefined when it holds the lock. */
export type BlockerRule = (queue: readonly SequentialNode[], mine: number) => SequentialNode | undefined;

export interface ContenderSpec {
  /** The lock's directory; every contender's node is a child of it. */
  dir: string;
  /** This contender's node prefix, e.g. 'lock-' or 'read-'. */
  prefix: string;
  /** Every prefix that takes part in this lock's queue. */
  prefixes: readonly string[];
  blocker: BlockerRule;
}

export interface LockOptions {
  logger?: Logger;
}

export class LockContender {
  private readonly log: Logger;
  private node: string | undefined;
  private token = '';
  private held = false;
  private busy = false;
  private lost = false;
  private offHeldState: (() => void) | undefined;
  private readonly lostListeners = new Set<() => void>();

  constructor(
    private readonly client: Coordination,
    private readonly spec: ContenderSpec,
    opts: LockOptions = {},
  ) {
    this.log = componentLogger(opts.logger ?? silentLogger, 'lock', { dir: spec.dir, prefix: spec.prefix });
  }

  get isHeld(): boolean {
    return this.held;
  }

  /** This contender's node while it has one (waiting or holding). */
  get nodePath(): string | undefined {
    return this.node;
  }

  /** Called once when a held lock is lost with the session. */
  onLost(listener: () => void): () => void {
    this.lostListeners.add(listener);
    return () => this.lostListeners.delete(listener);
  }

  /** Waits until the lock is held. On timeout, abort or failure the node is removed and nothing is held. */
  async acquire(opts: WaitOptions = {}): Promise<void> {
    if (this.held || this.busy) throw new DroverError('DROVER_INVALID_ARGUMENT', 'the lock is not reentrant: already held or being acquired by this object');
    this.busy = true;
    this.lost = false;
    this.token = randomUUID();
    const remaining = remainingOf(opts);
    try {
      await this.client.ensurePath(this.spec.dir);
      await this.queueUntilHeld(remaining);
      this.held = true;
      this.offHeldState = this.client.onState((c) => this.whileHeld(c));
      this.log.debug({ node: this.node }, 'acquired');
    } catch (err) {
      await this.dropNode();
      throw err;
    } finally {
      this.busy = false;
    }
  }

  /** Deletes the node. DROVER_NOT_HELD when not held (unless it was lost, which needs no release). */
  async release(): Promise<void> {
    if (!this.held) {
      if (this.lost) return;
      throw new DroverError('DROVER_NOT_HELD', 'the lock is not held');
    }
    this.held = false;
    this.offHeldState?.();
    this.offHeldState = undefined;
    await this.dropNode();
  }

  private whileHeld(change: StateChange): void {
    if (change.state === 'LOST' || change.state === 'CLOSED' || (change.state === 'RECONNECTED' && change.sessionChanged)) {
      if (!this.held) return;
      this.held = false;
      this.lost = true;
      this.node = undefined;
      this.offHeldState?.();
      this.offHeldState = undefined;
      this.log.warn({ state: change.state }, 'lock lost with the session');
      for (const l of [...this.lostListeners]) {
        try {
          l();
        } catch (err) {
          this.log.error({ err }, 'onLost listener threw');
        }
      }
    }
  }

  private async queueUntilHeld(remaining: () => WaitOptions): Promise<void> {
    let sessionGone = false;
    const offState = this.client.onState((c) => {
      if (c.state === 'LOST' || (c.state === 'RECONNECTED' && c.sessionChanged)) sessionGone = true;
    });
    try {
      await this.queueLoop(remaining, () => {
        const gone = sessionGone;
        sessionGone = false;
        return gone;
      });
    } finally {
      offState();
    }
  }

  private async queueLoop(remaining: () => WaitOptions, takeSessionGone: () => boolean): Promise<void> {
    let adopt = false;
    for (;;) {
      if (this.client.state === 'CLOSED') throw new DroverError('DROVER_CLOSED', 'the coordination client is closed');
      try {
        if (takeSessionGone()) {
          // A new session: any node we had went with the old one.
          this.node = undefined;
          adopt = false;
        }
        if (this.node === undefined && adopt) this.node = await this.findByToken();
        adopt = false;
        if (this.node === undefined) {
          try {
            this.node = await this.client.create(childPath(this.spec.dir, this.spec.prefix), Buffer.from(this.token), { mode: 'ephemeral_sequential' });
          } catch (err) {
            adopt = isOutcomeUnknown(err);
            throw err;
          }
        }
        const blocker = await this.blockerPath();
        if (blocker === null) continue;
        if (blocker === undefined) return;
        await this.waitFor(blocker, remaining);
      } catch (err) {
        if (!isConnectionTrouble(err)) throw err;
        // Connection trouble: wait for the connection, then read the queue again.
        this.log.debug({ err }, 'waiting for the connection');
        await this.waitConnected(remaining);
      }
    }
  }

  /**
   * The full path of the node to wait for; undefined when we hold the lock;
   * null when the caller should loop (our node vanished, or a duplicate of
   * ours was removed).
   */
  private async blockerPath(): Promise<string | undefined | null> {
    const mine = this.node;
    const queue = sortSequential(await this.client.children(this.spec.dir), this.spec.prefixes);
    const index = queue.findIndex((n) => mine !== undefined && childPath(this.spec.dir, n.name) === mine);
    if (index < 0) {
      this.log.warn({ node: mine }, 'our lock node vanished; queueing again');
      this.node = undefined;
      return null;
    }
    const blocker = this.spec.blocker(queue, index);
    return blocker ? childPath(this.spec.dir, blocker.name) : undefined;
  }

  /** Sets one watch on `path` and waits for it to fire (or the connection to come back). */
  private async waitFor(path: string, remaining: () => WaitOptions): Promise<void> {
    const wake = new WatchWait();
    let data: Buffer;
    try {
      // getData rather than exists: it leaves no watch when the node is already gone, and gives the token.
      data = (await this.client.get(path, wake.watcher)).data;
    } catch (err) {
      if (isZkError(err, 'NO_NODE')) return;
      throw err;
    }
    if (data.toString() === this.token && path !== this.node) {
      // A create of ours whose reply was lost: it would block us forever.
      this.log.warn({ ghost: path }, 'deleting a duplicate lock node of ours');
      await this.client.delete(path).catch((err: unknown) => {
        if (!isZkError(err, 'NO_NODE')) throw err;
      });
      return;
    }
    await wake.wait(this.client, 'lock', remaining());
  }

  private waitConnected(remaining: () => WaitOptions): Promise<void> {
    return abortableWait('lock connection', remaining(), ({ resolve, reject }) => {
      const check = (): void => {
        if (isConnected(this.client)) resolve();
        else if (this.client.state === 'CLOSED') reject(new DroverError('DROVER_CLOSED', 'the coordination client is closed'));
      };
      const off = this.client.onState(check);
      check();
      return off;
    });
  }

  /** After a create with an unknown outcome: our node, found by its token, if the create happened. */
  private async findByToken(): Promise<string | undefined> {
    for (const n of sortSequential(await this.client.children(this.spec.dir), [this.spec.prefix])) {
      const p = childPath(this.spec.dir, n.name);
      try {
        if ((await this.client.get(p)).data.toString() === this.token) return p;
      } catch (err) {
        if (!isZkError(err, 'NO_NODE')) throw err;
      }
    }
    return undefined;
  }

  private async dropNode(): Promise<void> {
    const node = this.node;
    this.node = undefined;
    if (node !== undefined) await deleteEventually(this.client, node, this.log);
  }
}
