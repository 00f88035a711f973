/**
 * The client's wire fast paths (shared/client/wire-fast-paths.ts) against
 * node-zookeeper-client's own code, loaded a second time untouched: every
 * record class encodes to the same bytes and decodes to the same fields, a
 * multi encodes to the same bytes, and replies split across socket chunks
 * at any boundary reach their callbacks as when each came whole.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { installWireFastPaths } from '../../../shared/client/wire-fast-paths.ts';
import { MultiPayload, decodeResults } from '../../../shared/client/multi-write.ts';
import { MultiReadPayload } from '../../../shared/client/multi-read.ts';
import type { Op } from '../../../shared/client/coordination.ts';

const require = createRequire(import.meta.url);
const jutePath = require.resolve('node-zookeeper-client/lib/jute/index.js');

type AnyRec = Record<string, unknown> & {
  specification: { name: string; type: string }[];
  byteLength(): number;
  serialize(b: Buffer, o: number): number;
  deserialize(b: Buffer, o: number): number;
};
type RecCtor = new (...args: unknown[]) => AnyRec;
interface JuteLike {
  protocol: Record<string, RecCtor>;
  data: Record<string, RecCtor>;
  Request: new (h: unknown, p: unknown) => { toBuffer(): Buffer };
  TransactionRequest: new (ops: unknown[]) => unknown;
}

/** A second instance of the library's jute module, never patched: the reference. */
function referenceJute(): JuteLike {
  const saved = require.cache[jutePath];
  delete require.cache[jutePath];
  const ref = require(jutePath) as JuteLike;
  if (saved) require.cache[jutePath] = saved;
  else delete require.cache[jutePath];
  return ref;
}

const ref = referenceJute();
const pathModule = require.resolve('node-zookeeper-client/lib/Path.js');
const refValidate = ((): ((p: unknown) => void) => {
  const saved = require.cache[pathModule];
  delete require.cache[pathModule];
  const mod = require(pathModule) as { validate(p: unknown): void };
  if (saved) require.cache[pathModule] = saved;
  else delete require.cache[pathModule];
  return mod.validate;
})();
expect(installWireFastPaths()).toBe(true);
const fast = require(jutePath) as JuteLike;
const ACL = require('node-zookeeper-client/lib/ACL.js') as new (perms: number, id: unknown) => unknown;
const Id = require('node-zookeeper-client/lib/Id.js') as new (scheme: string, id: string) => unknown;

const str = fc.oneof(fc.constant(undefined), fc.string({ maxLength: 12 }), fc.string({ unit: 'grapheme', maxLength: 6 }));
const int = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
const long = fc.uint8Array({ minLength: 8, maxLength: 8 }).map((a) => Buffer.from(a));
const bytes = fc.oneof(fc.constant(undefined), fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)));

/** Random field values for a class, made with `lib`'s own classes for nested records. */
function valuesFor(lib: JuteLike, cls: RecCtor, seed: number): unknown[] {
  const spec = new cls().specification;
  const rnd = fc.sample(
    fc.tuple(...spec.map(() => fc.tuple(int, long, bytes, str, fc.boolean(), fc.array(str, { maxLength: 3 })))),
    { numRuns: 1, seed },
  )[0] as [number, Buffer, Buffer | undefined, string | undefined, boolean, (string | undefined)[]][];
  return spec.map((f, i) => {
    const [n, l, b, s, bool, strs] = rnd[i] as (typeof rnd)[number];
    switch (f.type) {
      case 'int':
        return n;
      case 'long':
        return l;
      case 'buffer':
        return b;
      case 'ustring':
        return s;
      case 'boolean':
        return bool;
      case 'vector<ustring>':
        return strs;
      case 'vector<data.ACL>':
        return strs.map((x, k) => new lib.data['ACL']!((n + k) | 0, new lib.data['Id']!('digest', x ?? '')));
      case 'data.Stat':
        return new lib.data['Stat']!(l, l, l, l, n, n, n, l, n, n, l);
      case 'data.Id':
        return new lib.data['Id']!(s, s);
      default:
        throw new Error(`no generator for ${f.type}`);
    }
  });
}

/** A record's fields as plain data (Buffers as arrays, nested records flattened). */
function plain(v: unknown): unknown {
  if (Buffer.isBuffer(v)) return [...v];
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object' && 'specification' in v) {
    const r = v as AnyRec;
    return Object.fromEntries(r.specification.map((f) => [f.name, plain(r[f.name])]));
  }
  return v;
}

describe('wire fast paths', () => {
  const classes = [...Object.keys(ref.data).map((n) => ['data', n] as const), ...Object.keys(ref.protocol).map((n) => ['protocol', n] as const)];

  it('encode every record class to the bytes the library makes, and decode them to the same fields', () => {
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        for (const [group, name] of classes) {
          const R = ref[group][name] as RecCtor;
          const F = fast[group][name] as RecCtor;
          const r = new R(...valuesFor(ref, R, seed));
          const f = new F(...valuesFor(fast, F, seed));
          expect(plain(f)).toEqual(plain(r));
          expect(f.byteLength()).toBe(r.byteLength());
          const rb = new ref.Request(null, r).toBuffer();
          const fb = new fast.Request(null, f).toBuffer();
          expect(fb.equals(rb)).toBe(true);
          if (rb.length <= 4) continue; // nothing to decode (the library refuses an offset at the end)
          const rd = new R();
          const fd = new F();
          expect(fd.deserialize(rb, 4)).toBe(rd.deserialize(rb, 4));
          expect(plain(fd)).toEqual(plain(rd));
        }
      }),
      { numRuns: 60 },
    );
  });

  it('default-constructed records match too (the library sets every field)', () => {
    for (const [group, name] of classes) {
      expect(plain(new (fast[group][name] as RecCtor)())).toEqual(plain(new (ref[group][name] as RecCtor)()));
    }
  });

  it('encode a multi to the bytes the library makes', () => {
    const open = [new ACL(31, new Id('world', 'anyone'))];
    const op = fc.oneof(
      fc.record({ type: fc.constant(1), path: fc.string({ minLength: 1, maxLength: 30 }).map((s) => `/${s}`), data: bytes, mode: fc.integer({ min: 0, max: 3 }) }),
      fc.record({ type: fc.constant(2), path: fc.string({ maxLength: 30 }).map((s) => `/${s}`), version: int }),
      fc.record({ type: fc.constant(5), path: fc.string({ maxLength: 30 }).map((s) => `/${s}`), data: bytes, version: int }),
      fc.record({ type: fc.constant(13), path: fc.string({ maxLength: 30 }).map((s) => `/${s}`), version: int }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 20 }), fc.integer({ min: 1, max: 1000 }), (ops, xid) => {
        const withAcls = ops.map((o) => (o.type === 1 ? { ...o, acls: open } : o));
        const header = (lib: JuteLike): AnyRec => new lib.protocol['RequestHeader']!(xid, 14);
        const rb = new ref.Request(header(ref), new ref.TransactionRequest(withAcls)).toBuffer();
        const fb = new fast.Request(header(fast), new fast.TransactionRequest(withAcls)).toBuffer();
        expect(fb.equals(rb)).toBe(true);
      }),
    );
  });

  it('encode our own multi (multi-write.ts) to the bytes the library makes of the same ops', () => {
    const MODES = ['persistent', 'ephemeral', 'persistent_sequential', 'ephemeral_sequential'] as const;
    const path = fc.string({ maxLength: 30 }).map((s) => `/${s}`);
    const data = fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a));
    const op = fc.oneof(
      fc.record({ op: fc.constant('create' as const), path, data, mode: fc.integer({ min: 0, max: 3 }), digest: fc.boolean() }),
      fc.record({ op: fc.constant('delete' as const), path, version: int }),
      fc.record({ op: fc.constant('set' as const), path, data, version: int }),
      fc.record({ op: fc.constant('check' as const), path, version: int }),
    );
    const digestAcl = [{ perms: 'rwa', scheme: 'digest' as const, id: 'alice:x' }];
    fc.assert(
      fc.property(fc.array(op, { maxLength: 20 }), fc.integer({ min: 1, max: 1000 }), (gen, xid) => {
        const ours: Op[] = gen.map((o) =>
          o.op === 'create' ? { op: 'create', path: o.path, data: o.data, mode: MODES[o.mode] as (typeof MODES)[number], ...(o.digest ? { acl: digestAcl } : {}) } : o,
        );
        const lib = gen.map((o) =>
          o.op === 'create'
            ? { type: 1, path: o.path, data: o.data, mode: o.mode, acls: o.digest ? [new ACL(1 | 2 | 16, new Id('digest', 'alice:x'))] : [new ACL(31, new Id('world', 'anyone'))] }
            : { type: { delete: 2, set: 5, check: 13 }[o.op], path: o.path, version: o.version, ...(o.op === 'set' ? { data: o.data } : {}) },
        );
        const header = (l: JuteLike): AnyRec => new l.protocol['RequestHeader']!(xid, 14);
        const rb = new ref.Request(header(ref), new ref.TransactionRequest(lib)).toBuffer();
        const fb = new fast.Request(header(fast), new MultiPayload(ours, ours.map((o) => o.path))).toBuffer();
        expect(fb.equals(rb)).toBe(true);
      }),
    );
  });

  it('encode a multiRead as ZooKeeper lays it out: getData headers and requests, then the terminator', () => {
    const b = new fast.Request(new fast.protocol['RequestHeader']!(7, 22), new MultiReadPayload(['/a', '/bc'])).toBuffer();
    const expected = Buffer.concat([
      Buffer.from([0, 0, 0, 7, 0, 0, 0, 22]),
      Buffer.from([0, 0, 0, 4, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 2]), Buffer.from('/a'), Buffer.from([0]),
      Buffer.from([0, 0, 0, 4, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 3]), Buffer.from('/bc'), Buffer.from([0]),
      Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 0xff, 0xff, 0xff, 0xff]),
    ]);
    expect(b.subarray(4).equals(expected)).toBe(true);
    expect(b.readInt32BE(0)).toBe(expected.length);
  });

  it('decode multi results as the library does, and refuse a truncated reply', () => {
    const stat = new fast.data['Stat']!();
    Object.assign(stat, { czxid: Buffer.from([0, 0, 0, 1, 0, 0, 0, 2]), mzxid: Buffer.from([0, 0, 0, 1, 0, 0, 0, 3]), ctime: Buffer.from([0, 0, 1, 0x8c, 0, 0, 0, 5]), mtime: Buffer.from([0, 0, 1, 0x8c, 0, 0, 0, 6]), version: 4, cversion: 2, aversion: 0, ephemeralOwner: Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]), dataLength: 9, numChildren: 1, pzxid: Buffer.from([0, 0, 0, 1, 0, 0, 0, 7]) });
    const statBytes = Buffer.alloc(stat.byteLength());
    stat.serialize(statBytes, 0);
    const hdr = (type: number, done: boolean, err: number): Buffer => {
      const b = Buffer.alloc(9);
      b.writeInt32BE(type, 0);
      b.writeUInt8(done ? 1 : 0, 4);
      b.writeInt32BE(err, 5);
      return b;
    };
    const str = (s: string): Buffer => Buffer.concat([Buffer.from([0, 0, 0, s.length]), Buffer.from(s)]);
    const body = Buffer.concat([hdr(1, false, 0), str('/x'), hdr(5, false, 0), statBytes, hdr(2, false, 0), hdr(13, false, 0), hdr(15, false, 0), str('/y'), statBytes, hdr(-1, true, -1)]);
    const frame = Buffer.concat([Buffer.alloc(20), body]);
    const results = decodeResults(frame, 20);
    expect(results.map((r) => r.type)).toEqual([1, 5, 2, 13, 15]);
    expect(results[0]?.path).toBe('/x');
    expect(results[1]?.stat).toEqual({ czxid: 2 ** 32 + 2, mzxid: 2 ** 32 + 3, ctime: 0x18c * 2 ** 32 + 5, mtime: 0x18c * 2 ** 32 + 6, version: 4, cversion: 2, aversion: 0, ephemeralOwner: '0102030405060708', dataLength: 9, numChildren: 1, pzxid: 2 ** 32 + 7 });
    expect(results[4]?.path).toBe('/y');
    const failed = Buffer.concat([Buffer.alloc(20), hdr(-1, false, 0), Buffer.from([0, 0, 0, 0]), hdr(-1, false, -103), Buffer.from([0xff, 0xff, 0xff, 0x99]), hdr(-1, true, -1)]);
    expect(decodeResults(failed, 20)).toEqual([{ type: -1, err: 0 }, { type: -1, err: -103 }]);
    expect(() => decodeResults(frame.subarray(0, frame.length - 30), 20)).toThrow(RangeError);
  });

  it('accept and refuse paths as the library does, with its messages', () => {
    const validate = (require(pathModule) as { validate(p: unknown): void }).validate;
    const outcome = (f: (p: unknown) => void, p: unknown): string => {
      try {
        f(p);
        return 'ok';
      } catch (err) {
        return String((err as Error).message);
      }
    };
    const path = fc.array(fc.constantFrom('/', '.', 'a', 'b', '\u0000'), { maxLength: 10 }).map((a) => a.join(''));
    fc.assert(
      fc.property(fc.oneof(path, fc.constant(undefined), fc.constant('')), (p) => {
        expect(outcome(validate, p)).toBe(outcome(refValidate, p));
      }),
      { numRuns: 3000 },
    );
  });

  it('hand every reply to its callback whatever the chunk boundaries', () => {
    const CM = require('node-zookeeper-client/lib/ConnectionManager.js') as { prototype: object };
    const reply = (xid: number, data: Buffer): Buffer => {
      const h = new ref.protocol['ReplyHeader']!(xid, Buffer.alloc(8), 0);
      const p = new ref.protocol['GetDataResponse']!(data, new ref.data['Stat']!());
      return new ref.Request(h, p).toBuffer();
    };
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: 1, maxLength: 12 }), fc.array(fc.nat(), { maxLength: 8 }), (datas, cutsRaw) => {
        const frames = datas.map((d, i) => reply(i + 1, Buffer.from(d)));
        const all = Buffer.concat(frames);
        const cuts = [...new Set(cutsRaw.map((c) => c % (all.length + 1)))].sort((a, b) => a - b);
        const got: { xid: number; data: number[] }[] = [];
        const socket = { destroyed: false };
        const cm = Object.assign(Object.create(CM.prototype) as Record<string, unknown>, {
          state: 3, // CONNECTED
          socket,
          pendingBuffer: null,
          zxid: Buffer.alloc(8),
          pendingQueue: datas.map((_, i) => ({
            request: { header: { xid: i + 1, type: 4 } },
            callback: (err: unknown, res: { header: { xid: number }; payload: { data: Buffer } }) => {
              expect(err).toBeNull();
              got.push({ xid: res.header.xid, data: [...res.payload.data] });
            },
          })),
        });
        const feed = cm['onSocketData'] as (this: unknown, b: Buffer) => void;
        let at = 0;
        for (const c of [...cuts, all.length]) {
          feed.call(cm, all.subarray(at, c));
          at = c;
        }
        expect(got).toEqual(datas.map((d, i) => ({ xid: i + 1, data: [...d] })));
      }),
    );
  });
});
