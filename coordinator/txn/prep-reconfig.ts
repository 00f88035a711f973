/**
 * prep for `reconfig` (opcode 16) on the leader, in ZooKeeper's check order
 * (PrepRequestProcessor, 3.5.3+): a reconfig already pending is
 * ReconfigInProgress; a `curConfigId` other than -1 that is not the last
 * configuration's version is BadVersion; a malformed request or one leaving
 * fewer than two voters is BadArguments; a new configuration without a
 * quorum connected and synced to this leader is NewConfigNoQuorum; and only
 * a caller that may WRITE `/zookeeper/config` (world-readable only, so by
 * default only the super user) may change it, else NoAuth. The txn sets
 * `/zookeeper/config` to the new configuration, whose version is the txn's
 * own zxid. ADR 0011.
 */
import type { Id, ReconfigRequest } from '../protocol/records.ts';
import type { ServerEntry } from '../config/zoo-cfg.ts';
import type { DataTree } from '../tree/data-tree.ts';
import type { Txn } from './txn.ts';
import { ErrorCode, ZkError } from '../protocol/error-codes.ts';
import { Perm } from '../protocol/opcodes.ts';
import { requirePerm } from '../acl/check.ts';
import { formatEnsembleConfig, nextServers, votersOf, type EnsembleConfig } from '../config/ensemble-config.ts';

/** What the leader knows of the ensemble's configuration. */
export interface EnsembleView {
  /** The last configuration proposed or committed (ZooKeeper's lastSeenQuorumVerifier). */
  lastSeen(): EnsembleConfig;
  /** A reconfig is proposed and not yet committed. */
  inProgress(): boolean;
  /** A quorum of these voters is connected and synced to this leader. */
  isQuorumSynced(voters: readonly number[]): boolean;
}

export interface ReconfigContext {
  tree: DataTree;
  authIds: readonly Id[];
  ensemble: EnsembleView;
  /** The zxid the txn will get: the new configuration's version. */
  zxid: number;
}

export function prepReconfig(req: ReconfigRequest, ctx: ReconfigContext): Txn {
  try {
    const view = ctx.ensemble;
    if (view.inProgress()) throw new ZkError(ErrorCode.RECONFIG_IN_PROGRESS);
    const last = view.lastSeen();
    if (req.curConfigId !== -1 && req.curConfigId !== last.version) throw new ZkError(ErrorCode.BAD_VERSION);
    const servers: ServerEntry[] = nextServers(last.servers, req);
    if (!view.isQuorumSynced(votersOf(servers))) throw new ZkError(ErrorCode.NEW_CONFIG_NO_QUORUM);
    const node = ctx.tree.get('/zookeeper/config');
    if (!node) throw new ZkError(ErrorCode.NO_NODE);
    requirePerm(node.acl, Perm.write, ctx.authIds);
    return { type: 'reconfig', data: Buffer.from(formatEnsembleConfig({ version: ctx.zxid, servers })) };
  } catch (err) {
    if (err instanceof ZkError) return { type: 'error', err: err.code };
    throw err;
  }
}
