/**
 * A local mirror of a subtree (Curator's TreeCache): an initial load, then
 * `added` / `updated` / `removed` events as the subtree changes, and
 * synchronous reads of the current copy. Every cached node holds a data
 * watch and (above `maxDepth`) a child watch; each one-shot watch that fires
 * marks its node dirty, and the node is read again with fresh watches, so
 * the cache re-arms itself. A root that does not exist yet is watched with
 * exists and loaded when it appears.
 *
 * The initial load reports every node it finds as `added`, then
 * `initialized` once. Events are differences between what the cache held and what it reads, so
 * several changes between two reads of a node may arrive as one event (as
 * in Curator), but the cache never misses the end state.
 *
 * Connection states:
 * - SUSPENDED: the copy is kept as it was (possibly stale); no events.
 * - RECONNECTED, same session: every cached node is read again, so changes
 *   made while disconnected are reported (the library re-arms watches too).
 * - LOST, then a new session: the watches are gone with the old session;
 *   the cache reloads every node (re-arming every watch) once reconnected,
 *   and reports what changed meanwhile, including removals.
 * - CLOSED: the cache stops; its copy stays readable.
 *
 * NodeCache and ChildrenCache are this engine at depth 0 and 1.
 */
import type { Logger } from 'pino';
import type { Coordination, Stat, StateChange, Watcher } from '../client/coordination.ts';
import { isZkError } from '../client/zk-error.ts';
import { DroverError } from '../errors.ts';
import { ListenerSet } from './listener-set.ts';
import { RetryTimer } from './retry-timer.ts';
import { childPath } from './sequential-nodes.ts';
import { SerialRunner } from './serial-runner.ts';
import { componentLogger, silentLogger } from '../log.ts';

export interface CachedNode {
  /** The node's path (relative to the client's namespace, like every recipe path). */
  path: string;
  data: Buffer;
  stat: Stat;
}

export interface TreeCacheOptions {
  /** How deep below the root to cache: 0 = the root only, 1 = its children, ... Default: unbounded. */
  maxDepth?: number;
  /** Reads in flight at once during a load. Default 32. */
  concurrency?: number;
  logger?: Logger;
}

interface Entry {
  node: CachedNode;
  depth: number;
  /** Child names, for nodes above maxDepth. */
  children: Set<string>;
}

export class TreeCache {
  private readonly log: Logger;
  private readonly maxDepth: number;
  private readonly concurrency: number;
  private readonly entries = new Map<string, Entry>();
  private readonly dirty = new Set<string>();
  private readonly runner: SerialRunner;
  private readonly retry: RetryTimer;
  private started = false;
  private closed = false;
  private initialized = false;
  private offState: (() => void) | undefined;
  /** Rejects a start() still loading when close() is called. */
  private closeWaiter: (() => void) | undefined;
  private readonly added: ListenerSet<[CachedNode]>;
  private readonly updated: ListenerSet<[CachedNode, CachedNode]>;
  private readonly removed: ListenerSet<[CachedNode]>;
  private readonly initializedListeners: ListenerSet<[]>;

  constructor(
    private readonly client: Coordination,
    private readonly rootPath: string,
    opts: TreeCacheOptions = {},
  ) {
    this.maxDepth = opts.maxDepth ?? Number.POSITIVE_INFINITY;
    if (!(this.maxDepth >= 0)) throw new DroverError('DROVER_INVALID_ARGUMENT', `maxDepth must be >= 0, got ${opts.maxDepth}`);
    this.concurrency = Math.max(1, opts.concurrency ?? 32);
    this.log = componentLogger(opts.logger ?? silentLogger, 'tree-cache', { path: rootPath });
    this.added = new ListenerSet(this.log, 'added');
    this.updated = new ListenerSet(this.log, 'updated');
    this.removed = new ListenerSet(this.log, 'removed');
    this.initializedListeners = new ListenerSet(this.log, 'initialized');
    this.runner = new SerialRunner(
      () => this.drain(),
      (err) => {
        this.log.warn({ err }, 'cache refresh failed; retrying');
        this.retry.schedule();
      },
    );
    this.retry = new RetryTimer(() => this.runner.trigger());
  }

  /** Loads the subtree; resolves once the first full load is done (`initialized`). */
  async start(): Promise<void> {
    if (this.closed) throw new DroverError('DROVER_CLOSED', 'cache is closed');
    if (this.started) throw new DroverError('DROVER_INVALID_ARGUMENT', 'cache already started');
    this.started = true;
    this.offState = this.client.onState((c) => this.onState(c));
    const ready = new Promise<void>((resolve, reject) => {
      const offInit = this.initializedListeners.add(() => {
        offInit();
        resolve();
      });
      this.closeWaiter = () => reject(new DroverError('DROVER_CLOSED', 'cache closed before it was initialized'));
    });
    this.markDirty(this.rootPath);
    await ready;
    this.closeWaiter = undefined;
  }

  /** Stops watching; the copy stays readable. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.retry.cancel();
    this.offState?.();
    this.dirty.clear();
    this.closeWaiter?.();
    await this.runner.run();
  }

  get isInitialized(): boolean {
    return this.initialized;
  }

  /** The cached node at `path`, if present. */
  get(path: string): CachedNode | undefined {
    return this.entries.get(path)?.node;
  }

  /** The cached child names of `path` (sorted), or undefined when `path` is not cached or is at maxDepth. */
  children(path: string): string[] | undefined {
    const e = this.entries.get(path);
    if (!e || e.depth >= this.maxDepth) return undefined;
    return [...e.children].sort();
  }

  /** Every cached node, parents before children. */
  nodes(): CachedNode[] {
    return [...this.entries.values()].sort((a, b) => a.depth - b.depth || (a.node.path < b.node.path ? -1 : 1)).map((e) => e.node);
  }

  get size(): number {
    return this.entries.size;
  }

  onAdded(listener: (node: CachedNode) => void): () => void {
    return this.added.add(listener);
  }

  onUpdated(listener: (node: CachedNode, previous: CachedNode) => void): () => void {
    return this.updated.add(listener);
  }

  onRemoved(listener: (node: CachedNode) => void): () => void {
    return this.removed.add(listener);
  }

  /** Once, after the first full load (every node read once). */
  onInitialized(listener: () => void): () => void {
    return this.initializedListeners.add(listener);
  }

  private onState(change: StateChange): void {
    if (change.state === 'CLOSED') {
      void this.close();
      return;
    }
    if (change.state !== 'CONNECTED' && change.state !== 'RECONNECTED') return;
    // Same session: catch up on what happened while disconnected. New session: the
    // watches went with the old one, so every node must be read (and watched) again.
    this.log.debug({ sessionChanged: change.sessionChanged }, 're-reading the cached tree');
    this.markDirty(this.rootPath);
    for (const p of this.entries.keys()) this.markDirty(p);
  }

  private markDirty(path: string): void {
    if (this.closed) return;
    this.dirty.add(path);
    this.runner.trigger();
  }

  private readonly watcher: Watcher = (event) => this.markDirty(event.path);

  private async drain(): Promise<void> {
    while (!this.closed && this.dirty.size > 0) {
      if (this.client.state !== 'CONNECTED' && this.client.state !== 'RECONNECTED') return; // RECONNECTED re-marks everything
      // Take from the front without copying the set: a big initial load stays linear.
      const batch: string[] = [];
      for (const p of this.dirty) {
        batch.push(p);
        if (batch.length >= this.concurrency) break;
      }
      for (const p of batch) this.dirty.delete(p);
      const results = await Promise.allSettled(batch.map((p) => this.refresh(p)));
      const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [{ path: batch[i] as string, err: r.reason as unknown }] : []));
      if (failed.length > 0) {
        for (const f of failed) this.dirty.add(f.path);
        throw failed[0]?.err;
      }
    }
    this.retry.reset();
    if (!this.closed && !this.initialized && this.dirty.size === 0) {
      this.initialized = true;
      this.initializedListeners.emit();
    }
  }

  private depthOf(path: string): number {
    if (path === this.rootPath) return 0;
    const rest = this.rootPath === '/' ? path.slice(1) : path.slice(this.rootPath.length + 1);
    return rest.split('/').length;
  }

  private parentOf(path: string): string {
    const i = path.lastIndexOf('/');
    return i <= 0 ? '/' : path.slice(0, i);
  }

  /** Reads one node (data, and children above maxDepth) with fresh watches and applies the difference. */
  private async refresh(path: string): Promise<void> {
    const depth = this.depthOf(path);
    const isRoot = path === this.rootPath;
    let read: { data: Buffer; stat: Stat };
    let children: string[] = [];
    try {
      read = await this.client.get(path, this.watcher);
      if (depth < this.maxDepth) children = await this.client.children(path, this.watcher);
    } catch (err) {
      if (!isZkError(err, 'NO_NODE')) throw err;
      if (isRoot && !this.closed) {
        // Watch for the root to appear; if it already did, read it again.
        if ((await this.client.exists(path, this.watcher)) !== null) this.markDirty(path);
      }
      this.removeSubtree(path);
      return;
    }
    if (this.closed) return;
    // A node read in parallel with its parent's removal must not come back.
    if (!isRoot) {
      const parent = this.entries.get(this.parentOf(path));
      if (!parent?.children.has(path.slice(path.lastIndexOf('/') + 1))) return;
    }
    const node: CachedNode = { path, data: read.data, stat: read.stat };
    const previous = this.entries.get(path);
    const entry: Entry = { node, depth, children: previous?.children ?? new Set() };
    this.entries.set(path, entry);
    if (!previous) this.added.emit(node);
    else if (previous.node.stat.mzxid !== node.stat.mzxid) this.updated.emit(node, previous.node);
    if (depth >= this.maxDepth) return;

    const now = new Set(children);
    for (const name of [...entry.children]) {
      if (!now.has(name)) {
        entry.children.delete(name);
        this.removeSubtree(childPath(path, name));
      }
    }
    for (const name of children) {
      if (!entry.children.has(name)) {
        entry.children.add(name);
        this.markDirty(childPath(path, name));
      }
    }
  }

  /** Drops `path` and everything under it, reporting the deepest nodes first. */
  private removeSubtree(path: string): void {
    const gone: Entry[] = [];
    const stack = [path];
    while (stack.length > 0) {
      const p = stack.pop() as string;
      const e = this.entries.get(p);
      if (!e) continue;
      gone.push(e);
      for (const name of e.children) stack.push(childPath(p, name));
    }
    if (gone.length === 0) return;
    gone.sort((a, b) => b.depth - a.depth);
    for (const e of gone) this.entries.delete(e.node.path);
    if (path !== this.rootPath) this.entries.get(this.parentOf(path))?.children.delete(path.slice(path.lastIndexOf('/') + 1));
    for (const e of gone) this.removed.emit(e.node);
  }
}
