/**
 * The classic distributed FIFO queue (ZooKeeper's queue recipe, Curator's
 * SimpleDistributedQueue): `offer` appends `<path>/q-NNNNNNNNNN`
 * (PERSISTENT_SEQUENTIAL); `poll` lists the children, and takes the lowest
 * by reading then deleting it (whoever's delete succeeds owns the item; the
 * others try the next); `take` does the same and, when the queue is empty,
 * waits on a child watch (no polling).
 *
 * Cost: every poll/take lists ALL children, so it is O(queue length) per
 * item, and every waiting consumer wakes on each offer (a herd). This is the
 * "naive recipe" the jobs benchmark compares against; the job runtime's
 * queues (layout.ts: head/tail indexes) avoid both.
 *
 * Connection states:
 * - SUSPENDED: calls wait for the connection (bounded by the client's retry
 *   policy); a waiting `take` keeps waiting. An `offer` that fails with
 *   CONNECTION_LOSS may still have enqueued its item (sequential creates are
 *   not retried), so offers are at-least-once if the caller retries. A poll
 *   whose delete reply was lost may drop that item (at-most-once delivery).
 * - LOST: items are persistent and unaffected; a waiting `take` re-arms its
 *   watch on the new session.
 * - CLOSED: calls fail with DROVER_CLOSED.
 */
import type { Logger } from 'pino';
import type { Coordination } from '../client/coordination.ts';
import { isZkError } from '../client/zk-error.ts';
import { remainingOf, type WaitOptions } from './abortable-wait.ts';
import { isConnectionTrouble } from './connection-checks.ts';
import { childPath, sortSequential } from './sequential-nodes.ts';
import { WatchWait } from './watch-wait.ts';
import { componentLogger, silentLogger } from '../log.ts';

export const QUEUE_ITEM_PREFIX = 'q-';

export class FifoQueue {
  private readonly log: Logger;
  private ensured = false;

  constructor(
    private readonly client: Coordination,
    private readonly path: string,
    opts: { logger?: Logger } = {},
  ) {
    this.log = componentLogger(opts.logger ?? silentLogger, 'fifo-queue', { path });
  }

  /** Appends an item; returns its node path. */
  async offer(data: Buffer): Promise<string> {
    await this.ensure();
    const create = (): Promise<string> => this.client.create(childPath(this.path, QUEUE_ITEM_PREFIX), data, { mode: 'persistent_sequential' });
    try {
      return await create();
    } catch (err) {
      if (!isZkError(err, 'NO_NODE')) throw err;
      // The queue node was removed since we made it: make it again (NO_NODE means nothing was created).
      this.ensured = false;
      await this.ensure();
      return create();
    }
  }

  /** Removes and returns the head item, or null when the queue is empty. */
  async poll(): Promise<Buffer | null> {
    return this.takeFrom(await this.items());
  }

  /** Removes and returns the head item, waiting on a child watch while the queue is empty. */
  async take(opts: WaitOptions = {}): Promise<Buffer> {
    await this.ensure();
    const remaining = remainingOf(opts);
    for (;;) {
      const wake = new WatchWait();
      let errored = false;
      try {
        const item = await this.takeFrom(await this.items(wake));
        if (item) return item;
      } catch (err) {
        if (!isConnectionTrouble(err)) throw err;
        errored = true;
      }
      await wake.wait(this.client, 'queue take', { ...remaining(), afterError: errored });
    }
  }

  /** How many items wait now. */
  async size(): Promise<number> {
    return (await this.items()).length;
  }

  private async ensure(): Promise<void> {
    if (this.ensured) return;
    await this.client.ensurePath(this.path);
    this.ensured = true;
  }

  /** Every item name, head first; with `wake`, also a child watch. */
  private async items(wake?: WatchWait): Promise<string[]> {
    try {
      return sortSequential(await this.client.children(this.path, wake?.watcher), [QUEUE_ITEM_PREFIX]).map((n) => n.name);
    } catch (err) {
      if (!isZkError(err, 'NO_NODE')) throw err;
      // No queue yet: make it, so the watch has a node to sit on.
      this.ensured = false;
      await this.ensure();
      return wake ? this.items(wake) : [];
    }
  }

  private async takeFrom(names: string[]): Promise<Buffer | null> {
    for (const name of names) {
      const p = childPath(this.path, name);
      try {
        const { data } = await this.client.get(p);
        await this.client.delete(p);
        return data;
      } catch (err) {
        // Another consumer took it first: try the next.
        if (!isZkError(err, 'NO_NODE')) throw err;
        this.log.trace({ item: name }, 'lost the race for an item');
      }
    }
    return null;
  }
}
