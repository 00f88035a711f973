/**
 * The data tree (prep + apply) against a small reference model under random
 * operation sequences; and fuzzy snapshots: a snapshot taken while writes go
 * on, plus replay of the log after it, equals the final tree.
 */
import { describe, expect } from 'vitest';
import { test, fc } from '@fast-check/vitest';
import { DataTree } from '../../coordinator/tree/data-tree.ts';
import { prepWrite, prepCloseSession } from '../../coordinator/txn/prep.ts';
import type { LoggedTxn, Txn } from '../../coordinator/txn/txn.ts';
import type { MultiWriteOp } from '../../coordinator/protocol/records.ts';

const OPEN = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];
const NAMES = ['/a', '/b', '/a/x', '/a/y', '/b/x', '/a/x/q', '/zookeeper'];

interface MNode {
  data: string | null;
  version: number;
  cversion: number;
  owner: bigint;
}

class Model {
  nodes = new Map<string, MNode>([['/', { data: null, version: 0, cversion: 0, owner: 0n }]]);
  constructor() {
    for (const p of ['/zookeeper', '/zookeeper/quota', '/zookeeper/config']) this.nodes.set(p, { data: null, version: 0, cversion: 0, owner: 0n });
  }
  clone(): Model {
    const m = new Model();
    m.nodes = new Map([...this.nodes].map(([k, v]) => [k, { ...v }]));
    return m;
  }
  parent(p: string): string {
    const i = p.lastIndexOf('/');
    return i <= 0 ? '/' : p.slice(0, i);
  }
  children(p: string): string[] {
    return [...this.nodes.keys()].filter((k) => k !== p && k !== '/' && this.parent(k) === p);
  }
  /** Applies one op; returns 0 or an error code (and leaves the model unchanged on error). */
  op(o: Op, session: bigint): number {
    switch (o.kind) {
      case 'create': {
        const par = this.nodes.get(this.parent(o.path));
        if (!par) return -101;
        const path = o.seq ? o.path + String(par.cversion).padStart(10, '0') : o.path;
        if (this.nodes.has(path)) return -110;
        if (par.owner !== 0n) return -108;
        par.cversion++;
        this.nodes.set(path, { data: o.data, version: 0, cversion: 0, owner: o.eph ? session : 0n });
        return 0;
      }
      case 'delete': {
        if (['/', '/zookeeper'].includes(o.path)) return -8;
        if (!this.nodes.has(this.parent(o.path))) return -101;
        const n = this.nodes.get(o.path);
        if (!n) return -101;
        if (o.version !== -1 && o.version !== n.version) return -103;
        if (this.children(o.path).length > 0) return -111;
        this.nodes.delete(o.path);
        return 0;
      }
      case 'set': {
        const n = this.nodes.get(o.path);
        if (!n) return -101;
        if (o.version !== -1 && o.version !== n.version) return -103;
        n.data = o.data;
        n.version++;
        return 0;
      }
    }
  }
}

type Op =
  | { kind: 'create'; path: string; data: string; eph: boolean; seq: boolean }
  | { kind: 'delete'; path: string; version: number }
  | { kind: 'set'; path: string; data: string; version: number };

type Step = { kind: 'single'; op: Op; session: bigint } | { kind: 'multi'; ops: Op[]; session: bigint } | { kind: 'close'; session: bigint };

const path = fc.constantFrom(...NAMES);
const version = fc.constantFrom(-1, 0, 1, 2);
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('create' as const), path, data: fc.constantFrom('', 'v', 'w'), eph: fc.boolean(), seq: fc.boolean() }),
  fc.record({ kind: fc.constant('delete' as const), path, version }),
  fc.record({ kind: fc.constant('set' as const), path, data: fc.constantFrom('s', 't'), version }),
);
const session = fc.constantFrom(1n, 2n);
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('single' as const), op, session }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('multi' as const), ops: fc.array(op, { minLength: 1, maxLength: 4 }), session }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('close' as const), session }) },
);

function toRequest(o: Op): MultiWriteOp {
  switch (o.kind) {
    case 'create':
      return { op: 1, path: o.path, data: Buffer.from(o.data), acl: OPEN, flags: (o.eph ? 1 : 0) | (o.seq ? 2 : 0) };
    case 'delete':
      return { op: 2, path: o.path, version: o.version };
    case 'set':
      return { op: 5, path: o.path, data: Buffer.from(o.data), version: o.version };
  }
}

function errorsOf(t: Txn): number[] {
  if (t.type === 'error') return [t.err];
  if (t.type === 'multi') return t.txns.map((x) => (x.type === 'error' ? x.err : 0));
  return [0];
}

/** Runs the steps through prep + apply; returns the log of applied txns. */
function run(tree: DataTree, model: Model, steps: Step[], onTxn: (t: LoggedTxn) => void = () => undefined): void {
  let zxid = tree.lastZxid;
  for (const s of steps) {
    let txn: Txn;
    if (s.kind === 'close') {
      txn = prepCloseSession(tree, s.session);
      for (const [p, n] of [...model.nodes]) if (n.owner === s.session) model.nodes.delete(p);
    } else if (s.kind === 'single') {
      txn = prepWrite(toRequest(s.op), { tree, sessionId: s.session, authIds: [], extendedTypesEnabled: false });
      expect(errorsOf(txn)).toEqual([model.op(s.op, s.session)]);
    } else {
      txn = prepWrite({ op: 14, ops: s.ops.map(toRequest) }, { tree, sessionId: s.session, authIds: [], extendedTypesEnabled: false });
      const trial = model.clone();
      const codes = s.ops.map((o) => trial.op(o, s.session));
      const failed = codes.findIndex((c) => c !== 0);
      const expected = failed < 0 ? codes : codes.map((_, i) => (i < failed ? 0 : i === failed ? (codes[failed] as number) : -2));
      expect(errorsOf(txn)).toEqual(expected);
      if (failed < 0) model.nodes = trial.nodes;
      if (failed >= 0) continue; // a failed multi is never applied
    }
    if (txn.type === 'error') continue;
    const logged: LoggedTxn = { header: { sessionId: s.session, cxid: 0, zxid: ++zxid, time: zxid * 10 }, txn };
    tree.apply(logged.header, txn);
    onTxn(logged);
  }
}

function summary(tree: DataTree): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const stack = ['/'];
  while (stack.length > 0) {
    const p = stack.pop() as string;
    const n = tree.get(p);
    if (!n) continue;
    out[p] = { data: n.data?.toString() ?? null, version: n.version, cversion: n.cversion, pzxid: n.pzxid, mzxid: n.mzxid, owner: n.ephemeralOwner, children: [...n.children.keys()].sort() };
    for (const c of n.children.keys()) stack.push(p === '/' ? '/' + c : p + '/' + c);
  }
  return out;
}

function modelSummary(m: Model): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [p, n] of m.nodes) out[p] = { data: n.data, version: n.version, owner: n.owner };
  return out;
}

describe('data tree vs a reference model', () => {
  test.prop([fc.array(step, { maxLength: 60 })], { numRuns: 200 })('prep + apply agree with the model', (steps) => {
    const tree = new DataTree();
    const model = new Model();
    run(tree, model, steps);
    const actual = Object.fromEntries(
      Object.entries(summary(tree)).map(([p, v]) => {
        const { data, version, owner } = v as { data: string | null; version: number; owner: bigint };
        return [p, { data, version, owner }];
      }),
    );
    expect(actual).toEqual(modelSummary(model));
  });

  test.prop([fc.array(step, { maxLength: 60 })], { numRuns: 100 })('snapshots round-trip exactly', (steps) => {
    const tree = new DataTree();
    run(tree, new Model(), steps);
    const copy = DataTree.deserialize(tree.serialize());
    expect(summary(copy)).toEqual(summary(tree));
    expect(copy.lastZxid).toBe(tree.lastZxid);
    expect(copy.ephemeralCount).toBe(tree.ephemeralCount);
  });

  // The example: a node and its child both made after the snapshot began, the node's earlier
  // delete and create replayed over them (the child was left out of its parent's children).
  const recreated: [Step[], Step[], number] = [
    [{ kind: 'single', op: { kind: 'create', path: '/b', data: '', eph: false, seq: false }, session: 1n }],
    [
      { kind: 'single', op: { kind: 'delete', path: '/b', version: -1 }, session: 1n },
      {
        kind: 'multi',
        ops: [
          { kind: 'create', path: '/b', data: '', eph: false, seq: false },
          { kind: 'create', path: '/b/x', data: '', eph: false, seq: false },
          { kind: 'set', path: '/zookeeper', data: 's', version: -1 },
        ],
        session: 1n,
      },
    ],
    1,
  ];
  test.prop([fc.array(step, { maxLength: 40 }), fc.array(step, { maxLength: 40 }), fc.integer({ min: 1, max: 4 })], { numRuns: 150, examples: [recreated] })(
    'a fuzzy snapshot plus replay of the log after it equals the final tree',
    (before, during, slice) => {
      const tree = new DataTree();
      const model = new Model();
      run(tree, model, before);
      const cursor = tree.snapshotCursor();
      const log: LoggedTxn[] = [];
      // Interleave writes with slices of the snapshot.
      let done = false;
      for (const s of during) {
        done = cursor.step(slice) || done;
        run(tree, model, [s], (t) => log.push(t));
      }
      while (!cursor.step(slice));
      const restored = DataTree.deserialize(Buffer.concat(cursor.finish()));
      for (const t of log) if (t.header.zxid > cursor.zxid) restored.apply(t.header, t.txn);
      expect(summary(restored)).toEqual(summary(tree));
      void done;
    },
  );
});
