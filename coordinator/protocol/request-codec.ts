/**
 * Requests, client to server: decode on the server, encode for test clients.
 * Frame bodies here exclude the 4-byte length; encoders return whole frames.
 */
import { JuteReader } from './reader.ts';
import { JuteWriter } from './writer.ts';
import { ErrorCode, ProtocolError, ZkError } from './error-codes.ts';
import type {
  ConnectRequest,
  CreateRequest,
  CreateTtlRequest,
  MultiReadOp,
  MultiWriteOp,
  Request,
  RequestHeader,
} from './records.ts';

export function decodeConnectRequest(body: Buffer): ConnectRequest {
  const r = new JuteReader(body);
  const protocolVersion = r.int();
  const lastZxidSeen = r.long();
  const timeOut = r.int();
  const sessionId = r.longBig();
  const passwd = r.buffer() ?? Buffer.alloc(0);
  const readOnly = r.remaining > 0 ? r.bool() : undefined;
  return { protocolVersion, lastZxidSeen, timeOut, sessionId, passwd: Buffer.from(passwd), readOnly };
}

export function encodeConnectRequest(c: ConnectRequest): Buffer {
  const w = new JuteWriter(64);
  w.int(c.protocolVersion).long(c.lastZxidSeen).int(c.timeOut).longBig(c.sessionId).buffer(c.passwd);
  if (c.readOnly !== undefined) w.bool(c.readOnly);
  return w.frame();
}

function readCreate(r: JuteReader, op: 1 | 15 | 19): CreateRequest {
  return { op, path: r.ustring(), data: r.bufferCopy(), acl: r.aclVector(), flags: r.int() };
}

function readCreateTtl(r: JuteReader): CreateTtlRequest {
  return { op: 21, path: r.ustring(), data: r.bufferCopy(), acl: r.aclVector(), flags: r.int(), ttl: r.long() };
}

const MULTI_WRITE_TYPES = new Set([1, 15, 19, 21, 2, 5, 13]);

function readMultiWriteOp(r: JuteReader, type: number): MultiWriteOp {
  // ZooKeeper's MultiOperationRecord rejects any other op type while deserializing.
  if (!MULTI_WRITE_TYPES.has(type)) throw new ProtocolError(`op type ${type} is not allowed in multi`);
  return decodeRequestBody(r, type) as MultiWriteOp;
}

function readMultiReadOp(r: JuteReader, type: number): MultiReadOp {
  if (type === 8) return { op: 8, path: r.ustring(), watch: r.bool() };
  if (type === 4) return { op: 4, path: r.ustring(), watch: r.bool() };
  throw new ProtocolError(`op type ${type} is not allowed in multiRead`);
}

/** Reads MultiHeaders until `done`. */
function readMultiOps<T>(r: JuteReader, readOp: (r: JuteReader, type: number) => T): T[] {
  const ops: T[] = [];
  for (;;) {
    const type = r.int();
    const done = r.bool();
    r.int(); // err, always -1 in requests
    if (done) return ops;
    ops.push(readOp(r, type));
  }
}

export function decodeRequest(body: Buffer): { header: RequestHeader; request: Request } {
  const r = new JuteReader(body);
  const header: RequestHeader = { xid: r.int(), type: r.int() };
  return { header, request: decodeRequestBody(r, header.type) };
}

function decodeRequestBody(r: JuteReader, type: number): Request {
  switch (type) {
    case 1:
    case 15:
    case 19:
      return readCreate(r, type);
    case 21:
      return readCreateTtl(r);
    case 2:
      return { op: 2, path: r.ustring(), version: r.int() };
    case 3:
      return { op: 3, path: r.ustring(), watch: r.bool() };
    case 4:
      return { op: 4, path: r.ustring(), watch: r.bool() };
    case 5:
      return { op: 5, path: r.ustring(), data: r.bufferCopy(), version: r.int() };
    case 6:
      return { op: 6, path: r.ustring() };
    case 7:
      return { op: 7, path: r.ustring(), acl: r.aclVector(), version: r.int() };
    case 8:
    case 12:
      return { op: type, path: r.ustring(), watch: r.bool() };
    case 9:
      return { op: 9, path: r.ustring() };
    case 11:
      return { op: 11 };
    case 13:
      return { op: 13, path: r.ustring(), version: r.int() };
    case 14:
      return { op: 14, ops: readMultiOps(r, readMultiWriteOp) };
    case 16:
      // buffer(): the same bytes as a ustring, but null stays null (it picks the incremental form).
      return { op: 16, joiningServers: nullableString(r), leavingServers: nullableString(r), newMembers: nullableString(r), curConfigId: r.long() };
    case 17:
    case 18:
      return { op: type, path: r.ustring(), type: r.int() };
    case 22:
      return { op: 22, ops: readMultiOps(r, readMultiReadOp) };
    case 100:
      return { op: 100, type: r.int(), scheme: r.ustring(), auth: r.bufferCopy() ?? Buffer.alloc(0) };
    case 101:
    case 105: {
      const relativeZxid = r.long();
      const dataWatches = r.stringVector();
      const existWatches = r.stringVector();
      const childWatches = r.stringVector();
      const persistentWatches = type === 105 ? r.stringVector() : [];
      const persistentRecursiveWatches = type === 105 ? r.stringVector() : [];
      return { op: type, relativeZxid, dataWatches, existWatches, childWatches, persistentWatches, persistentRecursiveWatches };
    }
    case 102:
      return { op: 102, token: r.bufferCopy() ?? Buffer.alloc(0) };
    case 103:
      return { op: 103, prefixPath: r.ustring() };
    case 104:
      return { op: 104, path: r.ustring() };
    case 106:
      return { op: 106, path: r.ustring(), mode: r.int() };
    case 107:
      return { op: 107 };
    case -11:
      return { op: -11 };
    default:
      throw new ZkError(ErrorCode.UNIMPLEMENTED, `unknown opcode ${type}`);
  }
}

function writeCreate(w: JuteWriter, c: CreateRequest | CreateTtlRequest): void {
  w.ustring(c.path).buffer(c.data).aclVector(c.acl).int(c.flags);
  if (c.op === 21) w.long(c.ttl);
}

function writeMultiOp(w: JuteWriter, op: MultiWriteOp | MultiReadOp): void {
  w.int(op.op).bool(false).int(-1);
  writeRequestBody(w, op);
}

function writeRequestBody(w: JuteWriter, q: Request): void {
  switch (q.op) {
    case 1:
    case 15:
    case 19:
    case 21:
      writeCreate(w, q);
      return;
    case 2:
    case 13:
      w.ustring(q.path).int(q.version);
      return;
    case 3:
    case 4:
    case 8:
    case 12:
      w.ustring(q.path).bool(q.watch);
      return;
    case 5:
      w.ustring(q.path).buffer(q.data).int(q.version);
      return;
    case 6:
    case 9:
    case 104:
      w.ustring(q.path);
      return;
    case 7:
      w.ustring(q.path).aclVector(q.acl).int(q.version);
      return;
    case 14:
    case 22:
      for (const op of q.ops) writeMultiOp(w, op);
      w.int(-1).bool(true).int(-1);
      return;
    case 16:
      w.ustring(q.joiningServers).ustring(q.leavingServers).ustring(q.newMembers).long(q.curConfigId);
      return;
    case 17:
    case 18:
      w.ustring(q.path).int(q.type);
      return;
    case 100:
      w.int(q.type).ustring(q.scheme).buffer(q.auth);
      return;
    case 101:
    case 105:
      w.long(q.relativeZxid).stringVector(q.dataWatches).stringVector(q.existWatches).stringVector(q.childWatches);
      if (q.op === 105) w.stringVector(q.persistentWatches).stringVector(q.persistentRecursiveWatches);
      return;
    case 102:
      w.buffer(q.token);
      return;
    case 103:
      w.ustring(q.prefixPath);
      return;
    case 106:
      w.ustring(q.path).int(q.mode);
      return;
    case 11:
    case 107:
    case -11:
      return;
  }
}

export function encodeRequest(header: RequestHeader, request: Request): Buffer {
  const w = new JuteWriter(128);
  w.int(header.xid).int(header.type);
  writeRequestBody(w, request);
  return w.frame();
}

/** A ustring that may be null (-1), as ReconfigRequest's are. */
function nullableString(r: JuteReader): string | null {
  const b = r.buffer();
  return b === null ? null : b.toString('utf8');
}
