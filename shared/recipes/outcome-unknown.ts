/**
 * Whether a failed write may still have been applied. A ZooKeeper error
 * code from the server is definitive (nothing happened); a connection loss
 * or timeout is not: the request may have been applied and only its reply
 * lost. Recipes that create sequential nodes must then look for the node
 * before creating another (Curator's "protected" mode, done by owner + data).
 */
import { isZkError } from '../client/zk-error.ts';

const DEFINITIVE = ['NO_NODE', 'NODE_EXISTS', 'NO_AUTH', 'BAD_ARGUMENTS', 'BAD_VERSION', 'NOT_EMPTY', 'NO_CHILDREN_FOR_EPHEMERALS', 'INVALID_ACL', 'SESSION_EXPIRED'] as const;

export function isOutcomeUnknown(err: unknown): boolean {
  return !DEFINITIVE.some((code) => isZkError(err, code));
}
