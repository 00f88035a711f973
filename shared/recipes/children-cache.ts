/**
 * A local copy of a znode's children and their data (Curator's
 * PathChildrenCache): an initial load, then `added` / `updated` / `removed`
 * events per child, and the current children readable synchronously. Each
 * child holds a data watch and the parent a child watch; every one-shot
 * watch is re-armed when it fires. A parent that does not exist yet is
 * waited for.
 *
 * SUSPENDED: the copy is kept (possibly stale), no events. RECONNECTED, same
 * session: the parent and every child are read again and changes made
 * meanwhile are reported. LOST then a new session: all watches are gone; the
 * children are reloaded and re-watched once reconnected, and additions,
 * updates and removals that happened meanwhile are reported.
 * (The engine is TreeCache at depth 1; events for the parent itself are not
 * reported.)
 */
import type { Coordination } from '../client/coordination.ts';
import type { Logger } from 'pino';
import { ListenerSet } from './listener-set.ts';
import { baseName, childPath } from './sequential-nodes.ts';
import { TreeCache, type CachedNode } from './tree-cache.ts';
import { componentLogger, silentLogger } from '../log.ts';

export type { CachedNode } from './tree-cache.ts';

export class ChildrenCache {
  private readonly tree: TreeCache;
  private readonly added: ListenerSet<[string, CachedNode]>;
  private readonly updated: ListenerSet<[string, CachedNode, CachedNode]>;
  private readonly removed: ListenerSet<[string, CachedNode]>;

  constructor(
    client: Coordination,
    private readonly path: string,
    opts: { logger?: Logger } = {},
  ) {
    const log = componentLogger(opts.logger ?? silentLogger, 'children-cache', { path });
    this.tree = new TreeCache(client, path, { maxDepth: 1, logger: log });
    this.added = new ListenerSet(log, 'added');
    this.updated = new ListenerSet(log, 'updated');
    this.removed = new ListenerSet(log, 'removed');
    const isChild = (n: CachedNode): boolean => n.path !== path;
    this.tree.onAdded((n) => isChild(n) && this.added.emit(baseName(n.path), n));
    this.tree.onUpdated((n, prev) => isChild(n) && this.updated.emit(baseName(n.path), n, prev));
    this.tree.onRemoved((prev) => isChild(prev) && this.removed.emit(baseName(prev.path), prev));
  }

  /** Resolves once the parent and every child have been read. */
  start(): Promise<void> {
    return this.tree.start();
  }

  close(): Promise<void> {
    return this.tree.close();
  }

  get isInitialized(): boolean {
    return this.tree.isInitialized;
  }

  /** The current child names, sorted. */
  names(): string[] {
    return (this.tree.children(this.path) ?? []).filter((n) => this.tree.get(childPath(this.path, n)) !== undefined);
  }

  /** The cached child `name`, if present. */
  get(name: string): CachedNode | undefined {
    return this.tree.get(childPath(this.path, name));
  }

  /** The current children by name, in name order. */
  current(): Map<string, CachedNode> {
    const out = new Map<string, CachedNode>();
    for (const name of this.names()) {
      const n = this.get(name);
      if (n) out.set(name, n);
    }
    return out;
  }

  onAdded(listener: (name: string, node: CachedNode) => void): () => void {
    return this.added.add(listener);
  }

  onUpdated(listener: (name: string, node: CachedNode, previous: CachedNode) => void): () => void {
    return this.updated.add(listener);
  }

  onRemoved(listener: (name: string, previous: CachedNode) => void): () => void {
    return this.removed.add(listener);
  }

  onInitialized(listener: () => void): () => void {
    return this.tree.onInitialized(listener);
  }
}
