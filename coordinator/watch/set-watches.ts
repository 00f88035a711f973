/**
 * setWatches after a reconnect: the client's watches re-armed against what
 * changed since the zxid it last saw — a data or child watch whose node
 * moved past it (or is gone) fires at once instead of being armed, an exist
 * watch on a node that now exists fires, persistent ones are armed again.
 */
import type { DataTree } from '../tree/data-tree.ts';
import type { SetWatchesRequest } from '../protocol/records.ts';
import type { WatchTable } from './watch-table.ts';

/** Event types as ZooKeeper numbers them: 1 created, 2 deleted, 3 data changed, 4 children changed. */
export type FiredType = 1 | 2 | 3 | 4;

export function restoreWatches<W>(tree: DataTree, watches: WatchTable<W>, watcher: W, req: SetWatchesRequest, fire: (type: FiredType, path: string) => void): void {
  const rel = req.relativeZxid;
  for (const path of req.dataWatches) {
    const node = tree.get(path);
    if (!node) fire(2, path);
    else if (node.mzxid > rel) fire(3, path);
    else watches.addData(path, watcher);
  }
  for (const path of req.existWatches) {
    if (tree.get(path)) fire(1, path);
    else watches.addData(path, watcher);
  }
  for (const path of req.childWatches) {
    const node = tree.get(path);
    if (!node) fire(2, path);
    else if (node.pzxid > rel) fire(4, path);
    else watches.addChild(path, watcher);
  }
  for (const path of req.persistentWatches) watches.addPersistent(path, watcher);
  for (const path of req.persistentRecursiveWatches) watches.addRecursive(path, watcher);
}
