/**
 * Deleting a recipe's ephemeral node (a lock released, a candidate leaving)
 * must not fail just because the connection is down: while the session
 * lives the node would keep holding the lock or the line. So a delete that
 * fails for connection trouble is tried again on RECONNECTED with the same
 * session; after LOST (or a new session, or CLOSED) the node is gone with
 * the session and there is nothing left to do.
 */
import type { Logger } from 'pino';
import type { Coordination } from '../client/coordination.ts';
import { isZkError } from '../client/zk-error.ts';
import { isConnectionTrouble } from './connection-checks.ts';

/** Resolves after the first attempt; a failed attempt goes on in the background. */
export async function deleteEventually(client: Coordination, path: string, log: Logger): Promise<void> {
  const attempt = async (): Promise<boolean> => {
    try {
      await client.delete(path);
      return true;
    } catch (err) {
      if (isZkError(err, 'NO_NODE')) return true;
      if (isConnectionTrouble(err)) return false;
      log.warn({ err, path }, 'could not delete the node; it goes when the session ends');
      return true;
    }
  };
  if (await attempt()) return;
  log.info({ path }, 'delete failed for the connection; retrying on reconnect');
  const off = client.onState((c) => {
    if (c.state === 'RECONNECTED' && !c.sessionChanged) {
      void attempt().then((done) => done && off());
    } else if (c.state === 'LOST' || c.state === 'CLOSED' || c.sessionChanged) {
      off();
    }
  });
}
