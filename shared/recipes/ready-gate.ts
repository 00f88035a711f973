/**
 * The entry step shared by Barrier.wait and DoubleBarrier.enter (ZooKeeper's
 * barrier recipe): set an exists-watch on the `ready` node, arrive, count the
 * members, and create `ready` (PERSISTENT) when they reach `size`; otherwise
 * wait for the watch and go round again. The watch is set before arriving,
 * so the release cannot slip between the two.
 *
 * Connection states:
 * - SUSPENDED / a failed read: the member waits again (shortly, after an
 *   error); the client re-arms the watch on reconnect.
 * - LOST: the ephemeral member node went with the old session; the next
 *   pass arrives again on the new one.
 * - CLOSED: the wait rejects with DROVER_CLOSED.
 * A wait that ends in an error (timeout, abort, CLOSED) before `ready` exists
 * withdraws the member, so a member that gave up never counts.
 */
import type { Logger } from 'pino';
import type { Coordination } from '../client/coordination.ts';
import { isZkError } from '../client/zk-error.ts';
import { remainingOf, type WaitOptions } from './abortable-wait.ts';
import { isConnectionTrouble } from './connection-checks.ts';
import { WatchWait } from './watch-wait.ts';

export interface ReadyGate {
  /** The node whose existence means the gate is open. */
  readyPath: string;
  /** How many members open the gate. */
  size: number;
  /** Names the wait in errors. */
  what: string;
  /** Logged (info) by the member that opens the gate. */
  openedMessage: string;
  /** Whether a member arrives even when the gate was already open (one that must later leave does). */
  arriveWhenOpen: boolean;
  log: Logger;
  /** Creates this member's node; no error if it exists. */
  arrive(): Promise<void>;
  /** How many members are present now. */
  count(): Promise<number>;
  /** Removes this member's node; no error if it is gone. */
  withdraw(): Promise<void>;
}

/** Arrives at `gate` and resolves once it is open (at once if it already was). */
export async function passReadyGate(client: Coordination, gate: ReadyGate, opts: WaitOptions): Promise<void> {
  const remaining = remainingOf(opts);
  for (;;) {
    const ready = new WatchWait();
    let errored = false;
    try {
      const wasOpen = (await client.exists(gate.readyPath, ready.watcher)) !== null;
      if (wasOpen && !gate.arriveWhenOpen) return;
      await gate.arrive();
      if (wasOpen) return;
      if ((await gate.count()) >= gate.size) {
        await client.create(gate.readyPath).catch((err: unknown) => {
          if (!isZkError(err, 'NODE_EXISTS')) throw err;
        });
        gate.log.info(gate.openedMessage);
        return;
      }
    } catch (err) {
      if (!isConnectionTrouble(err)) throw err;
      errored = true;
      gate.log.debug({ err }, 'connection trouble; waiting again');
    }
    try {
      await ready.wait(client, gate.what, { ...remaining(), afterError: errored });
    } catch (err) {
      // A member that gave up must not count towards the release.
      if ((await client.exists(gate.readyPath).catch(() => null)) === null) await gate.withdraw().catch(() => undefined);
      throw err;
    }
  }
}
