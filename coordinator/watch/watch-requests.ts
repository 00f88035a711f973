/**
 * The requests that only touch a connection's watches: addWatch (persistent
 * and persistent recursive), checkWatches and removeWatches, and the watch a
 * read leaves behind. ZkError on a bad path, mode or type, and NoWatcher
 * when there is none to check or remove, as ZooKeeper answers.
 */
import { ErrorCode, ZkError } from '../protocol/error-codes.ts';
import { AddWatchMode, Op, WatcherType } from '../protocol/opcodes.ts';
import type { AddWatchRequest, ExistsRequest, GetChildrenRequest, GetDataRequest, Response, WatchesRequest } from '../protocol/records.ts';
import { validatePath } from '../tree/path.ts';
import type { WatchTable } from './watch-table.ts';

export function watchRequest<W>(watches: WatchTable<W>, watcher: W, req: AddWatchRequest | WatchesRequest): Response {
  validatePath(req.path);
  if (req.op === Op.addWatch) {
    if (req.mode === AddWatchMode.persistent) watches.addPersistent(req.path, watcher);
    else if (req.mode === AddWatchMode.persistentRecursive) watches.addRecursive(req.path, watcher);
    else throw new ZkError(ErrorCode.BAD_ARGUMENTS);
    return { op: Op.addWatch };
  }
  const type = req.type;
  if (type !== WatcherType.children && type !== WatcherType.data && type !== WatcherType.any) throw new ZkError(ErrorCode.BAD_ARGUMENTS);
  const found = req.op === Op.removeWatches ? watches.remove(req.path, watcher, type) : watches.has(req.path, watcher, type);
  if (!found) throw new ZkError(ErrorCode.NO_WATCHER);
  return { op: req.op };
}

/**
 * The watch a read with `watch` set leaves: data for exists and getData,
 * child for getChildren; `failed` with the read's error code, when exists on
 * a missing node still watches for its creation (and nothing else does).
 */
export function armReadWatch<W>(watches: WatchTable<W>, watcher: W, req: ExistsRequest | GetDataRequest | GetChildrenRequest | { op: number }, failed?: number): void {
  if (!('watch' in req) || !req.watch) return;
  if (failed !== undefined) {
    if (req.op === Op.exists && failed === ErrorCode.NO_NODE) watches.addData(req.path, watcher);
    return;
  }
  if (req.op === Op.exists || req.op === Op.getData) watches.addData(req.path, watcher);
  else if (req.op === Op.getChildren || req.op === Op.getChildren2) watches.addChild(req.path, watcher);
}
