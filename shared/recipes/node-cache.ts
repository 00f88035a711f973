/**
 * A local copy of one znode (Curator's NodeCache): an initial load, then
 * `created` / `changed` / `deleted` events, and the current data readable
 * synchronously. It is tolerant of the node not existing (an exists-watch
 * waits for it) and re-arms its one-shot watch after each event.
 *
 * SUSPENDED: the copy is kept (possibly stale), no events. RECONNECTED, same
 * session: the node is read again and a change made meanwhile is reported.
 * LOST then a new session: the watch went with the session; the node is
 * re-read and re-watched once reconnected, reporting any difference.
 * Several changes between two reads arrive as one `changed` event.
 * (The engine is TreeCache at depth 0.)
 */
import type { Coordination } from '../client/coordination.ts';
import type { Logger } from 'pino';
import { ListenerSet } from './listener-set.ts';
import { TreeCache, type CachedNode } from './tree-cache.ts';
import { componentLogger, silentLogger } from '../log.ts';

export type { CachedNode } from './tree-cache.ts';

export class NodeCache {
  private readonly tree: TreeCache;
  private readonly created: ListenerSet<[CachedNode]>;
  private readonly changed: ListenerSet<[CachedNode, CachedNode]>;
  private readonly deleted: ListenerSet<[CachedNode]>;

  constructor(
    client: Coordination,
    private readonly path: string,
    opts: { logger?: Logger } = {},
  ) {
    const log = componentLogger(opts.logger ?? silentLogger, 'node-cache', { path });
    this.tree = new TreeCache(client, path, { maxDepth: 0, logger: log });
    this.created = new ListenerSet(log, 'created');
    this.changed = new ListenerSet(log, 'changed');
    this.deleted = new ListenerSet(log, 'deleted');
    this.tree.onAdded((n) => this.created.emit(n));
    this.tree.onUpdated((n, prev) => this.changed.emit(n, prev));
    this.tree.onRemoved((prev) => this.deleted.emit(prev));
  }

  /** Resolves once the node has been read (or found absent). */
  start(): Promise<void> {
    return this.tree.start();
  }

  close(): Promise<void> {
    return this.tree.close();
  }

  /** The node's current data and stat, or undefined when it does not exist (or before start). */
  get current(): CachedNode | undefined {
    return this.tree.get(this.path);
  }

  get isInitialized(): boolean {
    return this.tree.isInitialized;
  }

  onCreated(listener: (node: CachedNode) => void): () => void {
    return this.created.add(listener);
  }

  onChanged(listener: (node: CachedNode, previous: CachedNode) => void): () => void {
    return this.changed.add(listener);
  }

  onDeleted(listener: (previous: CachedNode) => void): () => void {
    return this.deleted.add(listener);
  }

  onInitialized(listener: () => void): () => void {
    return this.tree.onInitialized(listener);
  }
}
