/** Reply bodies built from a write's apply result (shared by local and forwarded writes). */
import type { Id, MultiRequest, MultiResult, Request, Response, Stat } from '../protocol/records.ts';
import type { TxnResult } from '../tree/data-tree.ts';
import type { ReplicatedState } from './replicated-state.ts';
import { Op } from '../protocol/opcodes.ts';

export function replyBody(req: Request, result: TxnResult, state: ReplicatedState): Response | null {
  switch (req.op) {
    case Op.create:
      return { op: Op.create, path: (result as { path: string }).path };
    case Op.create2:
    case Op.createContainer:
    case Op.createTTL: {
      const r = result as { path: string; stat: Stat };
      return { op: req.op, path: r.path, stat: r.stat };
    }
    case Op.setData:
    case Op.setACL:
      return { op: req.op, stat: (result as { stat: Stat }).stat };
    case Op.check: {
      const node = state.tree.get(req.path);
      return node ? { op: Op.check, stat: state.tree.statOf(node) } : null;
    }
    case Op.multi:
      return { op: Op.multi, results: multiResults(req, result) };
    case Op.reconfig: {
      // As ZooKeeper: the new configuration and /zookeeper/config's Stat, like getData.
      const node = state.tree.get('/zookeeper/config');
      return node ? { op: Op.reconfig, data: node.data, stat: state.tree.statOf(node) } : null;
    }
    default:
      return null;
  }
}

export function multiResults(req: MultiRequest, result: TxnResult): MultiResult[] {
  if (result.kind !== 'multi') return [];
  return result.results.map((r, i): MultiResult => {
    const op = req.ops[i];
    if (r.kind === 'error') return { type: -1, err: r.err };
    switch (op?.op) {
      case Op.create:
        return { type: 1, path: (r as { path: string }).path };
      case Op.create2:
      case Op.createContainer:
      case Op.createTTL:
        return { type: 15, path: (r as { path: string }).path, stat: (r as { stat: Stat }).stat };
      case Op.delete:
        return { type: 2 };
      case Op.setData:
        return { type: 5, stat: (r as { stat: Stat }).stat };
      default:
        return { type: 13 };
    }
  });
}

export function whoAmI(ids: Id[]): { authScheme: string; user: string }[] {
  return ids
    .filter((a) => a.scheme !== 'super')
    .map((a) => ({ authScheme: a.scheme, user: a.scheme === 'digest' ? (a.id.split(':')[0] ?? '') : a.id }));
}

