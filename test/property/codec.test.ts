/** Codec round trips, and garbage that only ever becomes a clean protocol error. */
import { describe, expect } from 'vitest';
import { test, fc } from '@fast-check/vitest';
import { decodeRequest, encodeRequest, decodeConnectRequest, encodeConnectRequest } from '../../coordinator/protocol/request-codec.ts';
import { decodeReply, encodeReply, decodeConnectResponse, encodeConnectResponse } from '../../coordinator/protocol/reply-codec.ts';
import { decodeTxn, encodeTxn } from '../../coordinator/protocol/txn-codec.ts';
import { FrameSplitter } from '../../coordinator/protocol/frames.ts';
import { ProtocolError, ZkError } from '../../coordinator/protocol/error-codes.ts';
import type { Acl, Request, Response, Stat, MultiResult } from '../../coordinator/protocol/records.ts';
import type { LoggedTxn, Txn } from '../../coordinator/txn/txn.ts';

const str = fc.string({ maxLength: 20 });
const path = fc.stringMatching(/^\/[a-z0-9/]{0,15}$/);
const data = fc.option(fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)), { nil: null });
const int = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
const long = fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 });
const ulong64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
const acl: fc.Arbitrary<Acl[]> = fc.array(fc.record({ perms: fc.integer({ min: 0, max: 31 }), id: fc.record({ scheme: str, id: str }) }), { maxLength: 3 });
const stat: fc.Arbitrary<Stat> = fc.record({
  czxid: long, mzxid: long, ctime: long, mtime: long, version: int, cversion: int, aversion: int,
  ephemeralOwner: ulong64, dataLength: int, numChildren: int, pzxid: long,
});

const create = fc.record({ op: fc.constantFrom(1 as const, 15 as const, 19 as const), path, data, acl, flags: int });
const createTtl = fc.record({ op: fc.constant(21 as const), path, data, acl, flags: int, ttl: long });
const del = fc.record({ op: fc.constant(2 as const), path, version: int });
const setData = fc.record({ op: fc.constant(5 as const), path, data, version: int });
const check = fc.record({ op: fc.constant(13 as const), path, version: int });
const request: fc.Arbitrary<Request> = fc.oneof(
  create, createTtl, del, setData, check,
  fc.record({ op: fc.constantFrom(3 as const, 4 as const), path, watch: fc.boolean() }),
  fc.record({ op: fc.constantFrom(8 as const, 12 as const), path, watch: fc.boolean() }),
  fc.record({ op: fc.constant(6 as const), path }),
  fc.record({ op: fc.constant(7 as const), path, acl, version: int }),
  fc.record({ op: fc.constant(9 as const), path }),
  fc.record({ op: fc.constantFrom(11 as const, 107 as const, -11 as const) }),
  fc.record({ op: fc.constant(14 as const), ops: fc.array(fc.oneof(create, createTtl, del, setData, check), { maxLength: 4 }) }),
  fc.record({ op: fc.constant(22 as const), ops: fc.array(fc.record({ op: fc.constantFrom(4 as const, 8 as const), path, watch: fc.boolean() }), { maxLength: 3 }) }),
  fc.record({ op: fc.constant(16 as const), joiningServers: str, leavingServers: str, newMembers: str, curConfigId: long }),
  fc.record({ op: fc.constantFrom(17 as const, 18 as const), path, type: int }),
  fc.record({ op: fc.constant(100 as const), type: int, scheme: str, auth: fc.uint8Array({ maxLength: 20 }).map((a) => Buffer.from(a)) }),
  fc.record({
    op: fc.constant(101 as const), relativeZxid: long, dataWatches: fc.array(path), existWatches: fc.array(path), childWatches: fc.array(path),
    persistentWatches: fc.constant<string[]>([]), persistentRecursiveWatches: fc.constant<string[]>([]),
  }),
  fc.record({
    op: fc.constant(105 as const), relativeZxid: long, dataWatches: fc.array(path), existWatches: fc.array(path), childWatches: fc.array(path),
    persistentWatches: fc.array(path), persistentRecursiveWatches: fc.array(path),
  }),
  fc.record({ op: fc.constant(102 as const), token: fc.uint8Array({ maxLength: 20 }).map((a) => Buffer.from(a)) }),
  fc.record({ op: fc.constant(103 as const), prefixPath: path }),
  fc.record({ op: fc.constant(104 as const), path }),
  fc.record({ op: fc.constant(106 as const), path, mode: int }),
);

const multiResult: fc.Arbitrary<MultiResult> = fc.oneof(
  fc.record({ type: fc.constant(1 as const), path }),
  fc.record({ type: fc.constant(15 as const), path, stat }),
  fc.record({ type: fc.constantFrom(2 as const, 13 as const) }),
  fc.record({ type: fc.constant(5 as const), stat }),
  fc.record({ type: fc.constant(-1 as const), err: int }),
);
const response: fc.Arbitrary<Response> = fc.oneof(
  fc.record({ op: fc.constant(1 as const), path }),
  fc.record({ op: fc.constantFrom(15 as const, 19 as const, 21 as const), path, stat }),
  fc.record({ op: fc.constantFrom(3 as const, 5 as const, 7 as const, 13 as const), stat }),
  fc.record({ op: fc.constantFrom(4 as const, 16 as const), data, stat }),
  fc.record({ op: fc.constant(6 as const), acl, stat }),
  fc.record({ op: fc.constant(8 as const), children: fc.array(str) }),
  fc.record({ op: fc.constant(12 as const), children: fc.array(str), stat }),
  fc.record({ op: fc.constant(104 as const), totalNumber: int }),
  fc.record({ op: fc.constant(107 as const), clientInfo: fc.array(fc.record({ authScheme: str, user: str })) }),
  fc.record({ op: fc.constant(14 as const), results: fc.array(multiResult, { maxLength: 4 }) }),
);

const subTxn = fc.oneof(
  fc.record({ type: fc.constant('create' as const), path, data, acl, ephemeralOwner: ulong64, parentCVersion: int }),
  fc.record({ type: fc.constant('delete' as const), path }),
  fc.record({ type: fc.constant('setData' as const), path, data, version: int }),
  fc.record({ type: fc.constant('check' as const), path, version: int }),
  fc.record({ type: fc.constant('error' as const), err: int }),
);
const txn: fc.Arbitrary<Txn> = fc.oneof(
  subTxn,
  fc.record({ type: fc.constant('setACL' as const), path, acl, version: int }),
  fc.record({ type: fc.constant('createSession' as const), timeoutMs: int }),
  fc.record({ type: fc.constant('closeSession' as const), paths: fc.array(path) }),
  fc.record({ type: fc.constant('multi' as const), txns: fc.array(subTxn, { maxLength: 4 }) }),
);
const logged: fc.Arbitrary<LoggedTxn> = fc.record({
  header: fc.record({ sessionId: ulong64, cxid: int, zxid: fc.integer({ min: 0, max: 2 ** 53 - 1 }), time: fc.integer({ min: 0, max: 2 ** 53 - 1 }) }),
  txn,
});

const body = (frame: Buffer): Buffer => frame.subarray(4);

describe('codec round trips', () => {
  test.prop([int, request])('requests', (xid, req) => {
    const decoded = decodeRequest(body(encodeRequest({ xid, type: req.op }, req)));
    expect(decoded.header).toEqual({ xid, type: req.op });
    expect(decoded.request).toEqual(req);
  });

  test.prop([int, long, response])('replies', (xid, zxid, resp) => {
    const decoded = decodeReply(body(encodeReply({ xid, zxid, err: 0 }, resp)), resp.op);
    expect(decoded.header).toEqual({ xid, zxid, err: 0 });
    expect(decoded.response).toEqual(resp);
  });

  test.prop([logged])('transactions', (t) => {
    expect(decodeTxn(encodeTxn(t))).toEqual(t);
  });

  test.prop([long, int, ulong64, fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.option(fc.boolean(), { nil: undefined })])(
    'handshakes, with and without the readOnly byte',
    (lastZxidSeen, timeOut, sessionId, pw, readOnly) => {
      const passwd = Buffer.from(pw);
      const req = { protocolVersion: 0, lastZxidSeen, timeOut, sessionId, passwd, readOnly };
      const frame = encodeConnectRequest(req);
      expect(frame.length).toBe(4 + (readOnly === undefined ? 44 : 45));
      expect(decodeConnectRequest(body(frame))).toEqual(req);
      const resp = { protocolVersion: 0, timeOut, sessionId, passwd, readOnly };
      expect(decodeConnectResponse(body(encodeConnectResponse(resp)))).toEqual(resp);
    },
  );
});

function onlyProtocolErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof ProtocolError) && !(err instanceof ZkError)) throw err;
  }
}

describe('garbage in, clean errors out', () => {
  test.prop([fc.uint8Array({ maxLength: 200 })])('random bytes never crash the decoders', (bytes) => {
    const b = Buffer.from(bytes);
    onlyProtocolErrors(() => decodeRequest(b));
    onlyProtocolErrors(() => decodeConnectRequest(b));
    onlyProtocolErrors(() => decodeTxn(b));
  });

  test.prop([request, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), fc.nat()])(
    'mutated and truncated valid requests never crash the decoder',
    (req, flips, cut) => {
      const b = Buffer.from(body(encodeRequest({ xid: 1, type: req.op }, req)));
      for (const [pos, v] of flips) b[pos % b.length] = v;
      onlyProtocolErrors(() => decodeRequest(b));
      onlyProtocolErrors(() => decodeRequest(b.subarray(0, cut % (b.length + 1))));
    },
  );

  test.prop([fc.array(request, { minLength: 1, maxLength: 8 }), fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 20 })])(
    'the frame splitter yields the same frames however TCP chunks the stream',
    (reqs, cuts) => {
      const stream = Buffer.concat(reqs.map((r, i) => encodeRequest({ xid: i, type: r.op }, r)));
      const splitter = new FrameSplitter(1 << 20);
      const frames: Buffer[] = [];
      let off = 0;
      let i = 0;
      while (off < stream.length) {
        const n = cuts[i++ % cuts.length] as number;
        frames.push(...splitter.push(stream.subarray(off, off + n)));
        off += n;
      }
      expect(frames.map((f) => decodeRequest(f).request)).toEqual(reqs);
    },
  );
});
