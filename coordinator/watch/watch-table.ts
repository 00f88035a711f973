/**
 * Watches, keyed by (path, watcher) as ZooKeeper keys them by connection:
 * one connection gets one event per path per trigger however many callbacks
 * it registered. Standard watches are one-shot; persistent and
 * persistent-recursive ones (addWatch) stay until removed.
 *
 * Trigger table (zk-protocol.md §8):
 *   1 created(P), 3 dataChanged(P) -> data watches on P
 *   2 deleted(P)                    -> data and child watches on P
 *   4 childrenChanged(P)            -> child watches on P
 *   persistent on P: 1,2,3 for P and 4 for P; recursive on P: 1,2,3 for P and descendants, never 4.
 */

type EventType = 1 | 2 | 3 | 4;

export interface WatchEvent {
  type: EventType;
  path: string;
}

/** `event` is the triggering event itself, for a caller that filters on what else it carries. */
export type Deliver<W, E extends WatchEvent = WatchEvent> = (watcher: W, type: EventType, path: string, event: E) => void;

/** `hit` with the watchers of `s` added (a copy of `s` when `hit` is null: `s` may be an index's own set). */
function union<W>(hit: Set<W> | null, s: Set<W> | undefined): Set<W> | null {
  if (!s) return hit;
  if (hit === null) return new Set(s);
  for (const w of s) hit.add(w);
  return hit;
}

class PathIndex<W> {
  readonly byPath = new Map<string, Set<W>>();
  readonly byWatcher = new Map<W, Set<string>>();

  add(path: string, w: W): void {
    let s = this.byPath.get(path);
    if (!s) this.byPath.set(path, (s = new Set()));
    s.add(w);
    let p = this.byWatcher.get(w);
    if (!p) this.byWatcher.set(w, (p = new Set()));
    p.add(path);
  }

  has(path: string, w: W): boolean {
    return this.byPath.get(path)?.has(w) ?? false;
  }

  remove(path: string, w: W): boolean {
    const s = this.byPath.get(path);
    if (!s || !s.delete(w)) return false;
    if (s.size === 0) this.byPath.delete(path);
    const p = this.byWatcher.get(w);
    if (p) {
      p.delete(path);
      if (p.size === 0) this.byWatcher.delete(w);
    }
    return true;
  }

  /** Removes and returns every watcher on `path` (one-shot trigger). */
  take(path: string): Set<W> | undefined {
    const s = this.byPath.get(path);
    if (!s) return undefined;
    this.byPath.delete(path);
    for (const w of s) {
      const p = this.byWatcher.get(w);
      if (p) {
        p.delete(path);
        if (p.size === 0) this.byWatcher.delete(w);
      }
    }
    return s;
  }

  removeWatcher(w: W): void {
    const paths = this.byWatcher.get(w);
    if (!paths) return;
    this.byWatcher.delete(w);
    for (const path of paths) {
      const s = this.byPath.get(path);
      if (s) {
        s.delete(w);
        if (s.size === 0) this.byPath.delete(path);
      }
    }
  }

  get size(): number {
    let n = 0;
    for (const s of this.byPath.values()) n += s.size;
    return n;
  }
}

export class WatchTable<W> {
  private readonly data = new PathIndex<W>();
  private readonly child = new PathIndex<W>();
  private readonly persistent = new PathIndex<W>();
  private readonly recursive = new PathIndex<W>();

  addData(path: string, w: W): void {
    this.data.add(path, w);
  }
  addChild(path: string, w: W): void {
    this.child.add(path, w);
  }
  addPersistent(path: string, w: W): void {
    this.persistent.add(path, w);
  }
  addRecursive(path: string, w: W): void {
    this.recursive.add(path, w);
  }

  trigger<E extends WatchEvent>(events: readonly E[], deliver: Deliver<W, E>): void {
    if (this.isEmpty()) return;
    for (const e of events) this.triggerOne(e, deliver);
  }

  private isEmpty(): boolean {
    return this.data.byPath.size === 0 && this.child.byPath.size === 0 && this.persistent.byPath.size === 0 && this.recursive.byPath.size === 0;
  }

  // Runs for every event of every write: no closure made per call (under a loader that names
  // functions, each closure costs a defineProperty), no set copied when nothing watches the path.
  private triggerOne<E extends WatchEvent>(event: E, deliver: Deliver<W, E>): void {
    const { type, path } = event;
    let hit: Set<W> | null = null;
    if (type === 4) {
      hit = union(hit, this.child.take(path));
    } else {
      hit = union(hit, this.data.take(path));
      if (type === 2) hit = union(hit, this.child.take(path));
    }
    if (this.persistent.byPath.size > 0) hit = union(hit, this.persistent.byPath.get(path));
    if (type !== 4 && this.recursive.byPath.size > 0) {
      // The path itself and every ancestor may hold a recursive watch.
      let p = path;
      for (;;) {
        hit = union(hit, this.recursive.byPath.get(p));
        if (p === '/') break;
        const i = p.lastIndexOf('/');
        p = i <= 0 ? '/' : p.slice(0, i);
      }
    }
    if (hit !== null) for (const w of hit) deliver(w, type, path, event);
  }

  removeWatcher(w: W): void {
    this.data.removeWatcher(w);
    this.child.removeWatcher(w);
    this.persistent.removeWatcher(w);
    this.recursive.removeWatcher(w);
  }

  /**
   * removeWatches: type 1 children, 2 data, 3 any. As ZooKeeper 3.8 does,
   * persistent watches count as both kinds, recursive ones as data watches.
   */
  remove(path: string, w: W, type: 1 | 2 | 3): boolean {
    let removed = false;
    if (type === 1 || type === 3) {
      removed = this.child.remove(path, w) || removed;
      removed = this.persistent.remove(path, w) || removed;
    }
    if (type === 2 || type === 3) {
      removed = this.data.remove(path, w) || removed;
      removed = this.persistent.remove(path, w) || removed;
      removed = this.recursive.remove(path, w) || removed;
    }
    return removed;
  }

  has(path: string, w: W, type: 1 | 2 | 3): boolean {
    const child = this.child.has(path, w) || this.persistent.has(path, w);
    const data = this.data.has(path, w) || this.persistent.has(path, w) || this.recursive.has(path, w);
    return type === 1 ? child : type === 2 ? data : child || data;
  }

  /** wchs counts data watches only (3.8). */
  get watchCount(): number {
    return this.data.size + this.child.size + this.persistent.size + this.recursive.size;
  }

  get dataWatchCount(): number {
    return this.data.size;
  }

  get pathCount(): number {
    const paths = new Set<string>([...this.data.byPath.keys(), ...this.child.byPath.keys(), ...this.persistent.byPath.keys(), ...this.recursive.byPath.keys()]);
    return paths.size;
  }

  get watcherCount(): number {
    const ws = new Set<W>([...this.data.byWatcher.keys(), ...this.child.byWatcher.keys(), ...this.persistent.byWatcher.keys(), ...this.recursive.byWatcher.keys()]);
    return ws.size;
  }

  /** wchc: paths per watcher. */
  byWatcher(): Map<W, string[]> {
    const out = new Map<W, Set<string>>();
    for (const idx of [this.data, this.child, this.persistent, this.recursive]) {
      for (const [w, paths] of idx.byWatcher) {
        let s = out.get(w);
        if (!s) out.set(w, (s = new Set()));
        for (const p of paths) s.add(p);
      }
    }
    return new Map([...out].map(([w, s]) => [w, [...s]]));
  }

  /** wchp: watchers per path. */
  byPath(): Map<string, W[]> {
    const out = new Map<string, Set<W>>();
    for (const idx of [this.data, this.child, this.persistent, this.recursive]) {
      for (const [p, ws] of idx.byPath) {
        let s = out.get(p);
        if (!s) out.set(p, (s = new Set()));
        for (const w of ws) s.add(w);
      }
    }
    return new Map([...out].map(([p, s]) => [p, [...s]]));
  }
}
