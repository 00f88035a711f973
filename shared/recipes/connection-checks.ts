/** The two questions recipes ask of the connection before deciding to wait or to fail. */
import type { Coordination } from '../client/coordination.ts';
import { isZkError } from '../client/zk-error.ts';

/** Requests can be sent now. */
export function isConnected(client: Coordination): boolean {
  return client.state === 'CONNECTED' || client.state === 'RECONNECTED';
}

/** The failure was the connection's (worth waiting for a reconnect), not the request's. */
export function isConnectionTrouble(err: unknown): boolean {
  return isZkError(err, 'CONNECTION_LOSS') || isZkError(err, 'OPERATION_TIMEOUT') || isZkError(err, 'SESSION_EXPIRED');
}
