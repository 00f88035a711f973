/** The recipes, each over the Coordination interface only (see each file's header for SUSPENDED/LOST guarantees). */
export { LeaderElection, CANDIDATE_PREFIX, type LeaderElectionOptions } from './leader-election.ts';
export { Lock, LOCK_PREFIX, type LockOptions } from './lock.ts';
export { ReadWriteLock, READ_PREFIX, WRITE_PREFIX } from './read-write-lock.ts';
export { LockContender } from './lock-contender.ts';
export { FifoQueue, QUEUE_ITEM_PREFIX } from './fifo-queue.ts';
export { Barrier, BARRIER_MEMBER_PREFIX, BARRIER_READY, type BarrierOptions } from './barrier.ts';
export { DoubleBarrier, DOUBLE_BARRIER_MEMBER_PREFIX, DOUBLE_BARRIER_READY, type DoubleBarrierOptions } from './double-barrier.ts';
export { NodeCache } from './node-cache.ts';
export { ChildrenCache } from './children-cache.ts';
export { TreeCache, type CachedNode, type TreeCacheOptions } from './tree-cache.ts';
export { GroupMembership, type GroupMembershipOptions } from './group-membership.ts';
export { SharedCounter, type CounterOptions } from './counter.ts';
export { ConfigWatcher, type ConfigWatcherOptions } from './config-watcher.ts';
export type { WaitOptions } from './abortable-wait.ts';
