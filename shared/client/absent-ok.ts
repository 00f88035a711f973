/**
 * Reads and deletes for which a missing node is an answer, not an error:
 * the framework lists directories that are made lazily and removes nodes a
 * session end or a rival may already have removed. One place, so every
 * caller treats NO_NODE the same way and nothing else is swallowed.
 */
import type { Coordination, Watcher } from './coordination.ts';
import { isZkError } from './zk-error.ts';

/** The children of `path`, or [] when it does not exist (then no watch is set: ZooKeeper sets none). */
export async function childrenOrEmpty(client: Coordination, path: string, watcher?: Watcher): Promise<string[]> {
  try {
    return await client.children(path, watcher);
  } catch (err) {
    if (isZkError(err, 'NO_NODE')) return [];
    throw err;
  }
}

/** Deletes `path`; a node that is already gone is fine. Other errors (BAD_VERSION, NOT_EMPTY) still throw. */
export async function deleteIfPresent(client: Coordination, path: string, version = -1): Promise<void> {
  try {
    await client.delete(path, version);
  } catch (err) {
    if (!isZkError(err, 'NO_NODE')) throw err;
  }
}
