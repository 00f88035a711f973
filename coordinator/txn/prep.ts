/**
 * prep: a write request becomes a Txn, decided against the current tree.
 * Validation happens here, in ZooKeeper's check order (it decides which
 * error a client sees); applying the Txn afterwards cannot fail. Expected
 * failures come back as ErrorTxns, not exceptions, because they are part of
 * normal traffic.
 */
import type {
  CheckVersionRequest,
  CreateRequest,
  CreateTtlRequest,
  DeleteRequest,
  Id,
  MultiRequest,
  MultiWriteOp,
  SetAclRequest,
  SetDataRequest,
} from '../protocol/records.ts';
import { ErrorCode, ZkError } from '../protocol/error-codes.ts';
import { Op, Perm } from '../protocol/opcodes.ts';
import { limits } from '../base/limits.ts';
import { CONTAINER_OWNER, ttlOwner, type CloseSessionTxn, type CreateSessionTxn, type ErrorTxn, type MultiTxn, type Txn } from './txn.ts';
import type { DataTree } from '../tree/data-tree.ts';
import { kindOf } from '../tree/znode.ts';
import { parentOf, validatePath, SYSTEM_PATHS } from '../tree/path.ts';
import { prepareAcl, requirePerm } from '../acl/check.ts';
import { PrepView, copyInfo, type NodeInfo } from './prep-view.ts';

export interface PrepContext {
  tree: DataTree;
  sessionId: bigint;
  authIds: Id[];
  extendedTypesEnabled: boolean;
  maxDataBytes?: number;
}

export type WriteRequest = CreateRequest | CreateTtlRequest | DeleteRequest | SetDataRequest | SetAclRequest | CheckVersionRequest | MultiRequest;

type SubTxn = MultiTxn['txns'][number];

export function prepWrite(req: WriteRequest, ctx: PrepContext): Txn {
  const view = new PrepView(ctx.tree, req.op === Op.multi);
  if (req.op === Op.multi) return prepMulti(req, view, ctx);
  try {
    if (req.op === Op.setACL) return prepSetAcl(req, view, ctx);
    return prepOne(req, view, ctx);
  } catch (err) {
    if (err instanceof ZkError) return { type: 'error', err: err.code };
    throw err;
  }
}

export function prepCreateSession(timeoutMs: number): CreateSessionTxn {
  return { type: 'createSession', timeoutMs };
}

export function prepCloseSession(tree: DataTree, sessionId: bigint): CloseSessionTxn {
  return { type: 'closeSession', paths: [...tree.ephemeralsOf(sessionId)] };
}

function prepMulti(req: MultiRequest, view: PrepView, ctx: PrepContext): MultiTxn {
  const txns: SubTxn[] = [];
  for (let i = 0; i < req.ops.length; i++) {
    try {
      txns.push(prepOne(req.ops[i] as MultiWriteOp, view, ctx));
    } catch (err) {
      if (!(err instanceof ZkError)) throw err;
      // All or nothing: earlier ops report 0, the failing one its code, later ones RuntimeInconsistency.
      const failed: ErrorTxn[] = req.ops.map((_, j) => ({
        type: 'error',
        err: j < i ? ErrorCode.OK : j === i ? err.code : ErrorCode.RUNTIME_INCONSISTENCY,
      }));
      return { type: 'multi', txns: failed };
    }
  }
  return { type: 'multi', txns };
}

function prepOne(req: MultiWriteOp, view: PrepView, ctx: PrepContext): SubTxn {
  switch (req.op) {
    case Op.create:
    case Op.create2:
    case Op.createContainer:
    case Op.createTTL:
      return prepCreate(req, view, ctx);
    case Op.delete:
      return prepDelete(req, view, ctx);
    case Op.setData:
      return prepSetData(req, view, ctx);
    case Op.check:
      return prepCheck(req, view, ctx);
  }
}

function need(info: NodeInfo | undefined): NodeInfo {
  if (!info) throw new ZkError(ErrorCode.NO_NODE);
  return info;
}

function checkVersion(expected: number, actual: number): void {
  if (expected !== -1 && expected !== actual) throw new ZkError(ErrorCode.BAD_VERSION);
}

function checkDataSize(data: Buffer | null, ctx: PrepContext): void {
  const max = ctx.maxDataBytes ?? limits.frameBytesMax;
  if (data !== null && data.length > max) throw new ZkError(ErrorCode.BAD_ARGUMENTS, `data of ${data.length} bytes exceeds ${max}`);
}

/** %010d of the parent's creation count (negative after int overflow, as Java formats it). */
function sequenceSuffix(n: number): string {
  return n < 0 ? '-' + String(-n).padStart(limits.sequenceDigits - 1, '0') : String(n).padStart(limits.sequenceDigits, '0');
}

function prepCreate(req: CreateRequest | CreateTtlRequest, view: PrepView, ctx: PrepContext): SubTxn {
  const flags = req.flags;
  if (!Number.isInteger(flags) || flags < 0 || flags > 6) throw new ZkError(ErrorCode.BAD_ARGUMENTS, `bad create flags ${flags}`);
  const ttlMode = flags === 5 || flags === 6;
  const sequential = flags === 2 || flags === 3 || flags === 6;
  const ephemeral = flags === 1 || flags === 3;
  const container = flags === 4;
  const ttl = req.op === Op.createTTL ? req.ttl : -1;
  if ((ttlMode || req.op === Op.createTTL) && !ctx.extendedTypesEnabled) throw new ZkError(ErrorCode.UNIMPLEMENTED, 'TTL nodes are disabled');
  if (ttlMode) {
    if (!(ttl > 0 && ttl <= limits.ttlMsMax)) throw new ZkError(ErrorCode.BAD_ARGUMENTS, `bad TTL ${ttl}`);
  } else if (ttl >= 0) {
    throw new ZkError(ErrorCode.BAD_ARGUMENTS, 'a TTL needs a TTL create mode');
  }
  if (req.op === Op.createContainer && !container) throw new ZkError(ErrorCode.BAD_ARGUMENTS, 'createContainer needs the container mode');
  let path = req.path;
  // ZooKeeper only checks the shape here; the full path rules apply after the parent checks.
  if (path.lastIndexOf('/') < 0 || path.includes('\u0000')) throw new ZkError(ErrorCode.BAD_ARGUMENTS, `invalid path '${path}'`);
  const acl = prepareAcl(req.acl, ctx.authIds);
  const parentPath = parentOf(path);
  const parent = need(view.get(parentPath));
  requirePerm(parent.acl, Perm.create, ctx.authIds);
  if (sequential) path += sequenceSuffix(parent.cversion);
  validatePath(path);
  if (view.get(path)) throw new ZkError(ErrorCode.NODE_EXISTS);
  if (kindOf(parent.ephemeralOwner) === 'ephemeral') throw new ZkError(ErrorCode.NO_CHILDREN_FOR_EPHEMERALS);
  checkDataSize(req.data, ctx);
  const owner = ephemeral ? ctx.sessionId : container ? CONTAINER_OWNER : ttlMode ? ttlOwner(ttl) : 0n;
  const parentCVersion = parent.cversion + 1;
  view.set(path, { version: 0, cversion: 0, aversion: 0, acl, ephemeralOwner: owner, numChildren: 0 });
  view.set(parentPath, { ...copyInfo(parent), cversion: parentCVersion, numChildren: parent.numChildren + 1 });
  return { type: 'create', path, data: req.data, acl, ephemeralOwner: owner, parentCVersion };
}

function prepDelete(req: DeleteRequest, view: PrepView, ctx: PrepContext): SubTxn {
  const path = req.path;
  // As ZooKeeper: only the shape and the system nodes are checked; a bad path simply does not exist.
  if (path.lastIndexOf('/') < 0 || path.includes('\u0000') || SYSTEM_PATHS.has(path)) {
    throw new ZkError(ErrorCode.BAD_ARGUMENTS, `${JSON.stringify(path)} cannot be deleted`);
  }
  const parentPath = parentOf(path);
  const parent = need(view.get(parentPath));
  requirePerm(parent.acl, Perm.delete, ctx.authIds);
  const node = need(view.get(path));
  checkVersion(req.version, node.version);
  if (node.numChildren > 0) throw new ZkError(ErrorCode.NOT_EMPTY);
  view.set(path, null);
  view.set(parentPath, { ...copyInfo(parent), numChildren: parent.numChildren - 1 });
  return { type: 'delete', path };
}

function prepSetData(req: SetDataRequest, view: PrepView, ctx: PrepContext): SubTxn {
  validatePath(req.path);
  const node = need(view.get(req.path));
  requirePerm(node.acl, Perm.write, ctx.authIds);
  checkVersion(req.version, node.version);
  checkDataSize(req.data, ctx);
  const version = node.version + 1;
  view.set(req.path, { ...copyInfo(node), version });
  return { type: 'setData', path: req.path, data: req.data, version };
}

function prepCheck(req: CheckVersionRequest, view: PrepView, ctx: PrepContext): SubTxn {
  validatePath(req.path);
  const node = need(view.get(req.path));
  requirePerm(node.acl, Perm.read, ctx.authIds);
  checkVersion(req.version, node.version);
  return { type: 'check', path: req.path, version: req.version };
}

function prepSetAcl(req: SetAclRequest, view: PrepView, ctx: PrepContext): Txn {
  validatePath(req.path);
  const acl = prepareAcl(req.acl, ctx.authIds);
  const node = need(view.get(req.path));
  requirePerm(node.acl, Perm.admin, ctx.authIds);
  checkVersion(req.version, node.aversion);
  return { type: 'setACL', path: req.path, acl, version: node.aversion + 1 };
}
