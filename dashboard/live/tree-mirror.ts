/**
 * A live in-memory copy of the cluster's subtree, kept current by one-shot
 * watches (a data watch and a child watch per node, re-armed as each fires),
 * never by re-reading on a timer. The dashboard's views and its SSE feed
 * are computed from this copy.
 *
 * Guarantees: after `start()` resolves the copy holds every node that
 * existed when it was read; each watch event re-reads its node, so the copy
 * converges to the tree within one round trip of a change. On SUSPENDED the
 * copy is kept (it may be stale); on RECONNECTED with a new session (the
 * old session's watches are gone) it is read again from scratch.
 */
import type { Logger } from 'pino';
import type { Coordination, Stat, WatchEvent } from '../../shared/client/coordination.ts';
import { isZkError } from '../../shared/client/zk-error.ts';

export interface MirrorNode {
  /** null until read, or when the mirror skips this node's data. */
  data: Buffer | null;
  stat: Stat | null;
  children: string[];
}

export interface MirrorView {
  get(path: string): MirrorNode | undefined;
}

export interface TreeMirrorOptions {
  client: Coordination;
  logger: Logger;
  /** Nodes whose data is not needed (their names say it all), e.g. queue items. */
  skipData?: (path: string) => boolean;
  /** A bound on how many nodes are tracked; past it new nodes are ignored (and logged once). */
  maxNodes?: number;
  /** Re-read after a transient failure (connection loss) after this long. */
  retryMs?: number;
}

export type ChangeListener = (paths: ReadonlySet<string>) => void;

export function childPath(parent: string, name: string): string {
  return parent === '/' ? `/${name}` : `${parent}/${name}`;
}

export class TreeMirror implements MirrorView {
  private readonly nodes = new Map<string, MirrorNode>();
  private readonly listeners = new Set<ChangeListener>();
  private readonly changed = new Set<string>();
  private flushScheduled = false;
  private closed = false;
  /** Bumped on every full reload: replies and events of an older epoch are dropped. */
  private epoch = 0;
  private warnedFull = false;
  private readonly unsubscribeState: () => void;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly opts: TreeMirrorOptions) {
    this.unsubscribeState = opts.client.onState((change) => {
      if (change.state === 'RECONNECTED' && change.sessionChanged) void this.reload();
    });
  }

  /** Reads the whole subtree under '/', arming watches as it goes. */
  async start(): Promise<void> {
    await this.track('/', this.epoch);
  }

  get(path: string): MirrorNode | undefined {
    return this.nodes.get(path);
  }

  get size(): number {
    return this.nodes.size;
  }

  /** Listeners hear, batched, the paths whose data or children changed. */
  onChange(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.closed = true;
    this.unsubscribeState();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.listeners.clear();
  }

  private async reload(): Promise<void> {
    this.epoch += 1;
    this.nodes.clear();
    this.markChanged('/');
    await this.track('/', this.epoch).catch((err: unknown) => this.opts.logger.warn({ err }, 'mirror reload failed'));
  }

  private live(epoch: number): boolean {
    return !this.closed && epoch === this.epoch;
  }

  private async track(path: string, epoch: number): Promise<void> {
    if (!this.live(epoch) || this.nodes.has(path)) return;
    if (this.nodes.size >= (this.opts.maxNodes ?? 50_000)) {
      if (!this.warnedFull) this.opts.logger.warn({ maxNodes: this.opts.maxNodes ?? 50_000 }, 'mirror full: new nodes are not tracked');
      this.warnedFull = true;
      return;
    }
    this.nodes.set(path, { data: null, stat: null, children: [] });
    this.markChanged(path);
    await Promise.all([this.readData(path, epoch), this.readChildren(path, epoch)]);
  }

  private async readData(path: string, epoch: number): Promise<void> {
    if (this.opts.skipData?.(path)) return;
    try {
      const { data, stat } = await this.opts.client.get(path, (ev) => this.onEvent(ev, epoch, 'data'));
      const node = this.nodes.get(path);
      if (!this.live(epoch) || !node) return;
      node.data = data;
      node.stat = stat;
      this.markChanged(path);
    } catch (err) {
      this.onReadError(err, path, epoch, () => this.readData(path, epoch));
    }
  }

  private async readChildren(path: string, epoch: number): Promise<void> {
    try {
      const names = await this.opts.client.children(path, (ev) => this.onEvent(ev, epoch, 'children'));
      const node = this.nodes.get(path);
      if (!this.live(epoch) || !node) return;
      names.sort();
      const next = new Set(names);
      for (const old of node.children) if (!next.has(old)) this.remove(childPath(path, old));
      node.children = names;
      this.markChanged(path);
      await Promise.all(names.map((name) => this.track(childPath(path, name), epoch)));
    } catch (err) {
      this.onReadError(err, path, epoch, () => this.readChildren(path, epoch));
    }
  }

  private onEvent(ev: WatchEvent, epoch: number, kind: 'data' | 'children'): void {
    if (!this.live(epoch)) return;
    if (ev.type === 'deleted') {
      this.remove(ev.path);
    } else if (kind === 'data') {
      void this.readData(ev.path, epoch);
    } else {
      void this.readChildren(ev.path, epoch);
    }
  }

  private onReadError(err: unknown, path: string, epoch: number, again: () => Promise<void>): void {
    if (!this.live(epoch)) return;
    if (isZkError(err, 'NO_NODE')) {
      // Deleted between the parent's listing and this read: the parent's child watch covers it.
      this.remove(path);
      return;
    }
    // A connection loss or a closing client: try once more later, unless closed.
    this.opts.logger.debug({ err, path }, 'mirror read failed; retrying');
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (this.live(epoch) && this.nodes.has(path)) void again();
    }, this.opts.retryMs ?? 1000);
    this.timers.add(timer);
  }

  private remove(path: string): void {
    if (!this.nodes.delete(path)) return;
    const prefix = path === '/' ? '/' : `${path}/`;
    for (const key of [...this.nodes.keys()]) if (key.startsWith(prefix)) this.nodes.delete(key);
    this.markChanged(path);
  }

  private markChanged(path: string): void {
    this.changed.add(path);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // Batch a burst of replies (one listing fans out into many reads) into one notification.
    setImmediate(() => {
      this.flushScheduled = false;
      if (this.closed) return;
      const paths = new Set(this.changed);
      this.changed.clear();
      for (const l of this.listeners) l(paths);
    });
  }
}
