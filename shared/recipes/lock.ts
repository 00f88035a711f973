/**
 * An exclusive distributed lock (ZooKeeper's lock recipe, Curator's
 * InterProcessMutex without reentrancy): contenders queue as
 * `<path>/lock-NNNNNNNNNN` EPHEMERAL_SEQUENTIAL nodes, the lowest holds the
 * lock, and each waiter watches only its predecessor, so a release wakes
 * exactly one waiter.
 *
 * SUSPENDED: a holder still holds the lock as far as the server knows, but
 * if the session expires another contender gets it; a holder that must
 * never overlap with another stops its work on SUSPENDED (`client.onState`)
 * and resumes only on RECONNECTED with the same session.
 * LOST: the node is gone; `isHeld` is false, `onLost` listeners fire, and
 * `release()` resolves without doing anything. Waiters queue again.
 *
 * Not reentrant: `acquire()` while this object holds or is acquiring fails
 * with DROVER_INVALID_ARGUMENT. Use one Lock object per holder.
 * See lock-contender.ts for the mechanics.
 */
import type { Coordination } from '../client/coordination.ts';
import { LockContender, type LockOptions } from './lock-contender.ts';

export const LOCK_PREFIX = 'lock-';

export class Lock extends LockContender {
  constructor(client: Coordination, path: string, opts: LockOptions = {}) {
    super(
      client,
      {
        dir: path,
        prefix: LOCK_PREFIX,
        prefixes: [LOCK_PREFIX],
        blocker: (queue, mine) => (mine === 0 ? undefined : queue[mine - 1]),
      },
      opts,
    );
  }
}

export type { LockOptions } from './lock-contender.ts';
