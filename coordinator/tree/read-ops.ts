/** Reads: answered from the tree with ZooKeeper's checks (node, then READ). Errors throw ZkError. */
import type {
  CheckVersionRequest,
  ExistsRequest,
  GetAclRequest,
  GetAllChildrenNumberRequest,
  GetChildrenRequest,
  GetDataRequest,
  GetEphemeralsRequest,
  Id,
  MultiReadRequest,
  MultiResult,
  Response,
} from '../protocol/records.ts';
import { ErrorCode, ZkError } from '../protocol/error-codes.ts';
import { Op, Perm } from '../protocol/opcodes.ts';
import { checkPerm, maskAclForNonAdmin, requirePerm } from '../acl/check.ts';
import type { DataTree } from './data-tree.ts';
import type { Znode } from './znode.ts';

export interface ReadContext {
  tree: DataTree;
  authIds: Id[];
  sessionId: bigint;
}

export type ReadRequest =
  | ExistsRequest
  | GetDataRequest
  | GetChildrenRequest
  | GetAclRequest
  | GetAllChildrenNumberRequest
  | GetEphemeralsRequest
  | MultiReadRequest
  | CheckVersionRequest;

/** Reads do not validate paths (ZooKeeper looks them up as they are; "" is the root's alias). */
function lookup(path: string, ctx: ReadContext): Znode | undefined {
  return ctx.tree.get(path === '' ? '/' : path);
}

function readable(path: string, ctx: ReadContext): Znode {
  const node = lookup(path, ctx);
  if (!node) throw new ZkError(ErrorCode.NO_NODE);
  requirePerm(node.acl, Perm.read, ctx.authIds);
  return node;
}

export function executeRead(req: ReadRequest, ctx: ReadContext): Response {
  const tree = ctx.tree;
  switch (req.op) {
    case Op.exists:
      return { op: Op.exists, stat: tree.statOf(readable(req.path, ctx)) };
    case Op.getData: {
      const node = readable(req.path, ctx);
      return { op: Op.getData, data: node.data, stat: tree.statOf(node) };
    }
    case Op.getChildren:
      return { op: Op.getChildren, children: tree.children(readable(req.path, ctx)) };
    case Op.getChildren2: {
      const node = readable(req.path, ctx);
      return { op: Op.getChildren2, children: tree.children(node), stat: tree.statOf(node) };
    }
    case Op.check: {
      const node = readable(req.path, ctx);
      if (req.version !== -1 && req.version !== node.version) throw new ZkError(ErrorCode.BAD_VERSION);
      return { op: Op.check, stat: tree.statOf(node) };
    }
    case Op.getACL: {
      const node = lookup(req.path, ctx);
      if (!node) throw new ZkError(ErrorCode.NO_NODE);
      requirePerm(node.acl, Perm.read | Perm.admin, ctx.authIds);
      const admin = checkPerm(node.acl, Perm.admin, ctx.authIds);
      return { op: Op.getACL, acl: admin ? node.acl : maskAclForNonAdmin(node.acl), stat: tree.statOf(node) };
    }
    case Op.getAllChildrenNumber:
      readable(req.path, ctx);
      return { op: Op.getAllChildrenNumber, totalNumber: tree.allChildrenNumber(req.path) };
    case Op.getEphemerals: {
      const prefix = req.prefixPath;
      const mine = [...tree.ephemeralsOf(ctx.sessionId)];
      return { op: Op.getEphemerals, ephemerals: prefix === '/' || prefix === '' ? mine : mine.filter((p) => p.startsWith(prefix)) };
    }
    case Op.multiRead:
      return { op: Op.multiRead, results: req.ops.map((op) => multiReadOne(op, ctx)) };
  }
}

function multiReadOne(op: MultiReadRequest['ops'][number], ctx: ReadContext): MultiResult {
  try {
    const node = readable(op.path, ctx);
    if (op.op === Op.getData) return { type: 4, data: node.data, stat: ctx.tree.statOf(node) };
    return { type: 8, children: ctx.tree.children(node) };
  } catch (err) {
    if (err instanceof ZkError) return { type: -1, err: err.code };
    throw err;
  }
}
