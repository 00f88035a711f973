/**
 * One library watcher per (kind, path), fanning out to every Watcher that
 * asked for it. node-zookeeper-client keeps one EventEmitter listener per
 * watcher function and path, so fifty takers waiting on one queue would be
 * fifty listeners (and a MaxListenersExceeded warning); ZooKeeper itself
 * delivers one event per path and session anyway.
 */
import type { Event } from 'node-zookeeper-client';

export type WatchKind = 'data' | 'exists' | 'child';

type Notify = (e: Event) => void;

interface Entry {
  readonly lib: Notify;
  readonly targets: Set<Notify>;
}

export class WatchFanout {
  private readonly entries = new Map<string, Entry>();

  /**
   * The library watcher to pass for (kind, path); `target` hears its event.
   * `undo` takes `target` back out when the read that would have set the
   * watch failed (a failed read sets no watch).
   */
  join(kind: WatchKind, path: string, target: Notify): { lib: Notify; undo: () => void } {
    const key = `${kind}:${path}`;
    let entry = this.entries.get(key);
    if (!entry) {
      const lib: Notify = (e) => {
        const current = this.entries.get(key);
        // A listener left from before reset() or from an emptied entry: not ours to deliver.
        if (current?.lib !== lib) return;
        this.entries.delete(key);
        for (const t of current.targets) t(e);
      };
      entry = { lib, targets: new Set() };
      this.entries.set(key, entry);
    }
    const added = !entry.targets.has(target);
    entry.targets.add(target);
    const joined = entry;
    return {
      lib: joined.lib,
      undo: () => {
        if (!added) return;
        joined.targets.delete(target);
        if (joined.targets.size === 0 && this.entries.get(key) === joined) this.entries.delete(key);
      },
    };
  }

  /** A new session has no watches: forget every registration of the old one. */
  reset(): void {
    this.entries.clear();
  }
}
