/**
 * A shared/exclusive lock (ZooKeeper's "shared locks" recipe, Curator's
 * InterProcessReadWriteLock without reentrancy or upgrade). Contenders queue
 * under `<path>` as `read-NNNNNNNNNN` or `write-NNNNNNNNNN` (one sequence for
 * both). A reader holds once no writer is ahead of it and watches only the
 * nearest writer before it; a writer holds once it is first and watches only
 * its immediate predecessor. Readers share; writers exclude everyone.
 *
 * SUSPENDED: holders keep their node while the session survives, but must
 * assume the lock may pass to others if it expires: stop writing on
 * SUSPENDED if overlap is unacceptable (`client.onState`).
 * LOST: the node is gone; `isHeld` is false and `onLost` listeners fire;
 * `release()` then resolves without doing anything.
 *
 * Each of `readLock` and `writeLock` is one contender: not reentrant; make
 * one ReadWriteLock per holder.
 */
import type { Coordination } from '../client/coordination.ts';
import { LockContender, type BlockerRule, type LockOptions } from './lock-contender.ts';

export const READ_PREFIX = 'read-';
export const WRITE_PREFIX = 'write-';
const PREFIXES = [READ_PREFIX, WRITE_PREFIX] as const;

/** A reader waits for the nearest writer ahead of it (readers ahead do not block it). */
export const readerBlocker: BlockerRule = (queue, mine) => queue.slice(0, mine).findLast((n) => n.prefix === WRITE_PREFIX);

/** A writer waits for whoever is immediately ahead of it. */
export const writerBlocker: BlockerRule = (queue, mine) => (mine === 0 ? undefined : queue[mine - 1]);

export class ReadWriteLock {
  readonly readLock: LockContender;
  readonly writeLock: LockContender;

  constructor(client: Coordination, path: string, opts: LockOptions = {}) {
    this.readLock = new LockContender(
      client,
      {
        dir: path,
        prefix: READ_PREFIX,
        prefixes: PREFIXES,
        blocker: readerBlocker,
      },
      opts,
    );
    this.writeLock = new LockContender(
      client,
      { dir: path, prefix: WRITE_PREFIX, prefixes: PREFIXES, blocker: writerBlocker },
      opts,
    );
  }
}
