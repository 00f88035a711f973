/**
 * Faster wire code for node-zookeeper-client 1.1.3, installed once in
 * memory. The library interprets its jute specification on every record it
 * encodes or decodes (a forEach and a regex per field, the size computed
 * up to three times per multi, a fresh 8-byte ArrayBuffer per long), and
 * feeds a socket chunk holding many replies back to itself by copying the
 * rest of the chunk once per reply. At a claim or finish of a hundred runs
 * that was ~90 µs of worker CPU per run (docs/jobs.md, single-run
 * performance). What is replaced, byte for byte the same on the wire:
 *
 * - Record byteLength/serialize/deserialize and the record constructors:
 *   compiled once per record class from the same specification.
 * - Request.toBuffer: one size pass, one buffer.
 * - TransactionRequest (a multi's ops): encoded from the ops directly,
 *   without a record per op.
 * - ConnectionManager.onSocketData: the chunk is split into frames by
 *   offset, each frame handed to the library's own handler whole.
 * - ConnectionManager.onPacketQueueReadable: requests queued in one tick go
 *   out in one socket write (cork until the tick's end).
 * - Path.validate (two regexes per op): a one-pass check first.
 * - Requests we encode and decode ourselves (multiRead, which the library
 *   lacks, and multi): own-requests.ts.
 *
 * A record with a chroot path (never set by this client: namespaces are
 * ours) keeps the library's own code. Another library version, or
 * DROVER_CLIENT_FAST_PATHS=0, leaves the library as it is.
 */
import { createRequire } from 'node:module';
import { enableOwnRequests, takeOwnReply } from './own-requests.ts';

const require = createRequire(import.meta.url);

/** A jute field as the library's specification.json states it. */
interface FieldSpec {
  name: string;
  type: string;
}

type Rec = Record<string, unknown> & {
  specification: FieldSpec[];
  chrootPath?: string;
  byteLength(): number;
  serialize(buffer: Buffer, offset: number): number;
  deserialize(buffer: Buffer, offset: number): number;
};

type Ctor = (new (...args: unknown[]) => Rec) & { prototype: Rec; super_?: unknown };

interface Jute {
  protocol: Record<string, Ctor>;
  data: Record<string, Ctor>;
  OP_CODES: Record<string, number>;
  Request: { prototype: { toBuffer(): Buffer; header: Rec | null; payload: Rec | null } };
  TransactionRequest: unknown;
}

const INT = 0;
const LONG = 1;
const BUF = 2;
const STR = 3;
const BOOL = 4;
const VEC_STR = 5;
const VEC_REC = 6;
const REC = 7;

interface Field {
  name: string;
  kind: number;
  /** For REC / VEC_REC: the data class name. */
  cls: string;
}

/** A record class's code, generated once from its specification (static property names: no keyed lookups). */
interface Compiled {
  length(rec: Rec): number;
  write(rec: Rec, buf: Buffer, off: number): number;
  read(rec: Rec, buf: Buffer, off: number): number;
  /** The constructor's body: sets every field from `args` as the library's Record does. */
  init(rec: Rec, args: ArrayLike<unknown>): void;
}

const COMPILED = Symbol('drover.compiledSpec');

type Spec = FieldSpec[] & { [COMPILED]?: Compiled | null };

function fieldsOf(spec: Spec): Field[] | null {
  const fields: Field[] = [];
  for (const a of spec) {
    let kind: number;
    let cls = '';
    let m: RegExpExecArray | null;
    if (typeof a.name !== 'string' || !/^[A-Za-z_$][\w$]*$/.test(a.name)) return null;
    if (a.type === 'int') kind = INT;
    else if (a.type === 'long') kind = LONG;
    else if (a.type === 'buffer') kind = BUF;
    else if (a.type === 'ustring') kind = STR;
    else if (a.type === 'boolean') kind = BOOL;
    else if (a.type === 'vector<ustring>') kind = VEC_STR;
    else if ((m = /^vector<data\.(\w+)>$/.exec(a.type)) !== null) {
      kind = VEC_REC;
      cls = m[1] as string;
    } else if ((m = /^data\.(\w+)$/.exec(a.type)) !== null) {
      kind = REC;
      cls = m[1] as string;
    } else return null; // a type this code does not know: the library's own code handles it
    fields.push({ name: a.name, kind, cls });
  }
  return fields;
}

/** What the generated code calls. */
interface Helpers {
  data: Record<string, Ctor>;
  recordProto: object;
  isBuffer(v: unknown): v is Buffer;
  byteLength(s: string): number;
  writeStr(v: unknown, buf: Buffer, off: number): number;
  writeAny(rec: Rec, buf: Buffer, off: number): number;
  copyLong(buf: Buffer, off: number): Buffer;
  copyBytes(buf: Buffer, off: number, len: number): Buffer;
  zeroLong(from: unknown): Buffer;
}

function generate(fields: Field[], H: Helpers): Compiled {
  const len: string[] = ['var n = 0, v, i;'];
  const write: string[] = ['var start = off, v, i;'];
  const read: string[] = ['var start = off, len, v, out, r;'];
  const init: string[] = ['var a;'];
  fields.forEach((f, i) => {
    const p = `rec[${JSON.stringify(f.name)}]`;
    const cls = JSON.stringify(f.cls);
    init.push(`a = args[${i}];`);
    switch (f.kind) {
      case INT:
        len.push('n += 4;');
        write.push(`buf.writeInt32BE(${p}, off); off += 4;`);
        read.push(`${p} = buf.readInt32BE(off); off += 4;`);
        init.push(`${p} = typeof a === 'number' ? a : 0;`);
        break;
      case LONG:
        len.push('n += 8;');
        write.push(`${p}.copy(buf, off); off += 8;`);
        read.push(`${p} = H.copyLong(buf, off); off += 8;`);
        init.push(`${p} = H.zeroLong(a);`);
        break;
      case BUF:
        len.push(`v = ${p}; n += 4 + (H.isBuffer(v) ? v.length : 0);`);
        write.push(`v = ${p}; if (H.isBuffer(v)) { buf.writeInt32BE(v.length, off); v.copy(buf, off + 4); off += 4 + v.length; } else { buf.writeInt32BE(-1, off); off += 4; }`);
        read.push(`len = buf.readInt32BE(off); off += 4; if (len === -1) ${p} = undefined; else { ${p} = H.copyBytes(buf, off, len); off += len; }`);
        init.push(`${p} = H.isBuffer(a) ? Buffer.from(a) : undefined;`);
        break;
      case STR:
        len.push(`v = ${p}; n += 4 + (typeof v === 'string' ? H.byteLength(v) : 0);`);
        write.push(`off += H.writeStr(${p}, buf, off);`);
        read.push(`len = buf.readInt32BE(off); off += 4; if (len === -1) ${p} = undefined; else { ${p} = buf.toString('utf8', off, off + len); off += len; }`);
        init.push(`${p} = typeof a === 'string' ? a : undefined;`);
        break;
      case BOOL:
        len.push('n += 1;');
        write.push(`buf.writeUInt8(${p} ? 1 : 0, off); off += 1;`);
        read.push(`${p} = buf.readUInt8(off) === 1; off += 1;`);
        init.push(`${p} = typeof a === 'boolean' ? a : false;`);
        break;
      case VEC_STR:
        len.push(`v = ${p}; n += 4; if (Array.isArray(v)) for (i = 0; i < v.length; i++) n += 4 + (typeof v[i] === 'string' ? H.byteLength(v[i]) : 0);`);
        write.push(`v = ${p}; if (Array.isArray(v)) { buf.writeInt32BE(v.length, off); off += 4; for (i = 0; i < v.length; i++) off += H.writeStr(v[i], buf, off); } else { buf.writeInt32BE(-1, off); off += 4; }`);
        read.push(
          `len = buf.readInt32BE(off); off += 4; if (len === -1) ${p} = undefined; else { out = []; for (; len > 0; len--) { v = buf.readInt32BE(off); off += 4; if (v === -1) out.push(undefined); else { out.push(buf.toString('utf8', off, off + v)); off += v; } } ${p} = out; }`,
        );
        init.push(`${p} = Array.isArray(a) ? a : undefined;`);
        break;
      case VEC_REC:
        len.push(`v = ${p}; n += 4; if (Array.isArray(v)) for (i = 0; i < v.length; i++) n += v[i].byteLength();`);
        write.push(`v = ${p}; if (Array.isArray(v)) { buf.writeInt32BE(v.length, off); off += 4; for (i = 0; i < v.length; i++) off += H.writeAny(v[i], buf, off); } else { buf.writeInt32BE(-1, off); off += 4; }`);
        read.push(`len = buf.readInt32BE(off); off += 4; if (len === -1) ${p} = undefined; else { out = []; for (; len > 0; len--) { r = new H.data[${cls}](); off += r.deserialize(buf, off); out.push(r); } ${p} = out; }`);
        init.push(`${p} = Array.isArray(a) ? a : undefined;`);
        break;
      case REC:
        len.push(`n += ${p}.byteLength();`);
        write.push(`off += H.writeAny(${p}, buf, off);`);
        read.push(`r = new H.data[${cls}](); off += r.deserialize(buf, off); ${p} = r;`);
        init.push(`${p} = a !== null && typeof a === 'object' && Object.prototype.isPrototypeOf.call(H.recordProto, a) ? a : new H.data[${cls}]();`);
        break;
    }
  });
  len.push('return n;');
  write.push('return off - start;');
  read.push('return off - start;');
  const make = (params: string[], body: string[]): never => new Function('H', `return function (${params.join(', ')}) {\n${body.join('\n')}\n};`)(H) as never;
  return { length: make(['rec'], len), write: make(['rec', 'buf', 'off'], write), read: make(['rec', 'buf', 'off'], read), init: make(['rec', 'args'], init) };
}

let helpers: Helpers | null = null;

function compile(spec: Spec): Compiled | null {
  const known = spec[COMPILED];
  if (known !== undefined) return known;
  const fields = fieldsOf(spec);
  const compiled = fields && helpers ? generate(fields, helpers) : null;
  Object.defineProperty(spec, COMPILED, { value: compiled, enumerable: false });
  return compiled;
}

/** The compiled code of a record the fast code may handle, or null (chroot, unknown types). */
function fastCode(rec: Rec): Compiled | null {
  if (rec.chrootPath) return null;
  const spec = rec.specification as Spec | undefined;
  if (!Array.isArray(spec)) return null;
  return compile(spec);
}

function writeStr(v: unknown, buf: Buffer, off: number): number {
  if (typeof v !== 'string') {
    buf.writeInt32BE(-1, off);
    return 4;
  }
  const n = buf.write(v, off + 4, 'utf8');
  buf.writeInt32BE(n, off);
  return 4 + n;
}

/** Writes a record without measuring it first; returns the bytes written. */
function writeAny(rec: Rec, buf: Buffer, off: number): number {
  const code = fastCode(rec);
  return code ? code.write(rec, buf, off) : rec.serialize(buf, off);
}

/** An 8-byte copy (from the shared pool: a fresh ArrayBuffer per long was a real share of a reply's cost). */
function copyLong(buf: Buffer, off: number): Buffer {
  const out = Buffer.allocUnsafe(8);
  // By hand: Buffer#copy's argument checks cost more than 8 bytes do.
  for (let i = 0; i < 8; i++) out[i] = buf[off + i] as number;
  return out;
}

function copyBytes(buf: Buffer, off: number, len: number): Buffer {
  // A length past the end (a bad frame) keeps the library's result: zeros where nothing was.
  const out = off + len <= buf.length ? Buffer.allocUnsafe(len) : Buffer.alloc(len);
  buf.copy(out, 0, off, off + len);
  return out;
}

/** A long field as the library's constructor makes it: 8 zero bytes, then the argument copied in. */
function zeroLong(from: unknown): Buffer {
  const b = Buffer.allocUnsafe(8);
  const src = Buffer.isBuffer(from) ? from : null;
  for (let i = 0; i < 8; i++) b[i] = src !== null && i < src.length ? (src[i] as number) : 0;
  return b;
}

/** A constructor for `spec` that sets every field as the library's Record constructor does. */
function fastConstructor(spec: Spec, code: Compiled, old: Ctor): Ctor {
  const init = code.init;
  function FastRecord(this: Rec): void {
    this.specification = spec;
    this.chrootPath = undefined;
    init(this, arguments);
  }
  FastRecord.prototype = old.prototype;
  const ctor = FastRecord as unknown as Ctor;
  if (old.super_ !== undefined) ctor.super_ = old.super_;
  return ctor;
}

interface LibAcl {
  permission: number;
  id: { scheme: string; id: string };
}

interface LibOp {
  type: number;
  path: string;
  data?: Buffer | null;
  acls?: LibAcl[];
  mode?: number;
  version?: number;
}

/** A multi's request, encoded from its ops (the library builds a record per op, then measures them thrice). */
function fastTransactionRequest(jute: Jute): unknown {
  const { CREATE, DELETE, SET_DATA, CHECK } = jute.OP_CODES as Record<string, number>;
  // Callers pass the same ACL array for every create (OPEN_ACL): its bytes are made once, and
  // made again should the array's entries be other objects than when they were made.
  const aclBytes = new WeakMap<LibAcl[], { items: LibAcl[]; bytes: Buffer }>();
  const encodeAcls = (acls: LibAcl[]): Buffer => {
    const known = aclBytes.get(acls);
    let b = known && known.items.length === acls.length && known.items.every((a, i) => a === acls[i]) ? known.bytes : undefined;
    if (!b) {
      const parts: Buffer[] = [];
      const n = Buffer.alloc(4);
      n.writeInt32BE(acls.length, 0);
      parts.push(n);
      for (const a of acls) {
        const perms = Buffer.alloc(4);
        perms.writeInt32BE(a.permission, 0);
        const s = Buffer.alloc(4 + Buffer.byteLength(a.id.scheme));
        writeStr(a.id.scheme, s, 0);
        const id = Buffer.alloc(4 + Buffer.byteLength(a.id.id));
        writeStr(a.id.id, id, 0);
        parts.push(perms, s, id);
      }
      b = Buffer.concat(parts);
      aclBytes.set(acls, { items: [...acls], bytes: b });
    }
    return b;
  };
  interface Tr {
    ops: LibOp[];
    chrootPath: string | undefined;
  }
  function TransactionRequest(this: Tr, ops: LibOp[]): Tr | void {
    if (!(this instanceof TransactionRequest)) return new (TransactionRequest as unknown as new (o: LibOp[]) => Tr)(ops);
    if (!Array.isArray(ops)) throw new Error('ops must be a valid array.');
    for (const op of ops) {
      if (op.type !== CREATE && op.type !== DELETE && op.type !== SET_DATA && op.type !== CHECK) throw new Error('Unknown op type: ' + op.type);
    }
    this.ops = ops;
    this.chrootPath = undefined;
  }
  const pathOf = (tr: Tr, p: string): string => (!tr.chrootPath ? p : p === '/' ? tr.chrootPath : tr.chrootPath + p);
  TransactionRequest.prototype.setChrootPath = function (this: Tr, p: string) {
    this.chrootPath = p;
  };
  TransactionRequest.prototype.byteLength = function (this: Tr): number {
    let n = 9; // the closing MultiHeader: type, done, err
    for (const op of this.ops) {
      n += 9 + 4 + Buffer.byteLength(pathOf(this, op.path));
      if (op.type === CREATE) n += 4 + (Buffer.isBuffer(op.data) ? op.data.length : 0) + encodeAcls(op.acls as LibAcl[]).length + 4;
      else if (op.type === SET_DATA) n += 4 + (Buffer.isBuffer(op.data) ? op.data.length : 0) + 4;
      else n += 4;
    }
    return n;
  };
  TransactionRequest.prototype.serialize = function (this: Tr, buf: Buffer, start: number): number {
    let off = start;
    const header = (type: number, done: boolean): void => {
      buf.writeInt32BE(type, off);
      buf.writeUInt8(done ? 1 : 0, off + 4);
      buf.writeInt32BE(-1, off + 5);
      off += 9;
    };
    const bytes = (d: Buffer | null | undefined): void => {
      if (Buffer.isBuffer(d)) {
        buf.writeInt32BE(d.length, off);
        d.copy(buf, off + 4);
        off += 4 + d.length;
      } else {
        buf.writeInt32BE(-1, off);
        off += 4;
      }
    };
    for (const op of this.ops) {
      header(op.type, false);
      off += writeStr(pathOf(this, op.path), buf, off);
      if (op.type === CREATE) {
        bytes(op.data);
        off += encodeAcls(op.acls as LibAcl[]).copy(buf, off);
        buf.writeInt32BE(op.mode as number, off);
      } else {
        if (op.type === SET_DATA) bytes(op.data);
        buf.writeInt32BE(op.version as number, off);
      }
      off += 4;
    }
    header(-1, true);
    return off - start;
  };
  return TransactionRequest;
}

interface Cm {
  socket?: { destroyed: boolean; cork(): void; uncork(): void } & object;
  pendingBuffer: Buffer | null;
  pendingQueue: { request: { header: { xid: number; type: number } | null }; callback?: (err: unknown, value?: unknown) => void }[];
  queue(request: unknown, cb: (err: unknown, value?: unknown) => void): void;
}

const PARTIAL = Symbol('drover.partialFrame');
const CORKED = Symbol('drover.corked');

/**
 * Replies arrive many to a chunk; the library takes one, then calls itself
 * with the rest concatenated to an empty buffer (a copy of the rest per
 * reply). Split here by offset and hand it each frame whole, so it never
 * copies. A partial frame is kept for the next chunk of the same socket
 * only (the library would prepend it to a new connection's first reply).
 */
interface Partial {
  socket: object | undefined;
  chunks: Buffer[];
  bytes: number;
  /** The whole frame's length once its 4-byte length is in (0 before). */
  needed: number;
}

function framedOnSocketData(original: (this: Cm, b: Buffer) => void) {
  return function onSocketData(this: Cm & { [PARTIAL]?: Partial | null }, chunk: Buffer): void {
    const socket = this.socket;
    const partial = this[PARTIAL];
    let buf = chunk;
    if (partial && partial.socket === socket) {
      // A large reply comes in many chunks: gather them, and join them once the frame is whole.
      partial.chunks.push(chunk);
      partial.bytes += chunk.length;
      if (partial.needed === 0 && partial.bytes >= 4) partial.needed = 4 + Buffer.concat(partial.chunks, 4).readInt32BE(0);
      if (partial.needed <= 4 || partial.bytes >= partial.needed) buf = Buffer.concat(partial.chunks, partial.bytes);
      else return;
    }
    this[PARTIAL] = null;
    let off = 0;
    while (buf.length - off >= 4) {
      const size = buf.readInt32BE(off);
      if (size < 0) {
        // Not a frame: what the library makes of it is what it always made of it.
        this.pendingBuffer = null;
        original.call(this, off === 0 ? buf : buf.subarray(off));
        return;
      }
      if (buf.length - off < size + 4) break;
      const frame = off === 0 && size + 4 === buf.length ? buf : buf.subarray(off, off + size + 4);
      off += size + 4;
      this.pendingBuffer = null;
      // A reply to one of our own requests (own-requests.ts) is decoded by it.
      if (takeOwnReply(this, frame)) continue;
      original.call(this, frame);
      // The library drops the connection on a reply it cannot place: the rest is not for us.
      if (this.socket !== socket || socket?.destroyed) return;
    }
    if (off < buf.length) {
      const rest = off > 0 ? buf.subarray(off) : buf;
      this[PARTIAL] = { socket, chunks: [rest], bytes: rest.length, needed: rest.length >= 4 ? 4 + rest.readInt32BE(0) : 0 };
    }
  };
}

/** Requests queued in one tick (a claim's reads, a burst of finishes) leave in one socket write. */
function corkedOnPacketQueueReadable(original: (this: Cm) => void) {
  return function onPacketQueueReadable(this: Cm & { [CORKED]?: object | null }): void {
    const socket = this.socket;
    if (socket && !socket.destroyed && this[CORKED] !== socket) {
      this[CORKED] = socket;
      socket.cork();
      process.nextTick(() => {
        if (this[CORKED] === socket) this[CORKED] = null;
        socket.uncork();
      });
    }
    original.call(this);
  };
}

/** '/', or '/'-separated non-empty segments other than '.' and '..', no trailing '/' (a subset of what the library accepts). */
function isPlainPath(path: unknown): boolean {
  if (typeof path !== 'string' || path.charCodeAt(0) !== 47) return false;
  const n = path.length;
  if (n === 1) return true;
  if (path.charCodeAt(n - 1) === 47) return false;
  let segment = 1;
  for (let i = 1; i <= n; i++) {
    if (i < n && path.charCodeAt(i) !== 47) continue;
    const len = i - segment;
    if (len === 0 || (path.charCodeAt(segment) === 46 && (len === 1 || (len === 2 && path.charCodeAt(segment + 1) === 46)))) return false;
    segment = i + 1;
  }
  return true;
}

let installed = false;

/** Installs the fast paths (once; a no-op for another library version or DROVER_CLIENT_FAST_PATHS=0). Returns whether they are in. */
export function installWireFastPaths(): boolean {
  if (installed) return true;
  if (process.env['DROVER_CLIENT_FAST_PATHS'] === '0') return false;
  let version: string;
  try {
    version = (require('node-zookeeper-client/package.json') as { version: string }).version;
  } catch {
    return false;
  }
  if (version !== '1.1.3') return false;
  const jute = require('node-zookeeper-client/lib/jute/index.js') as Jute;
  const CM = require('node-zookeeper-client/lib/ConnectionManager.js') as { prototype: Record<string, unknown> };
  const recordProto = Object.getPrototypeOf(jute.data['Id']?.prototype ?? {}) as Rec;
  helpers = { data: jute.data, recordProto, isBuffer: Buffer.isBuffer, byteLength: Buffer.byteLength, writeStr, writeAny, copyLong, copyBytes, zeroLong };
  const original = { byteLength: recordProto.byteLength, serialize: recordProto.serialize, deserialize: recordProto.deserialize };
  recordProto.byteLength = function (this: Rec): number {
    const code = fastCode(this);
    return code ? code.length(this) : original.byteLength.call(this);
  };
  recordProto.serialize = function (this: Rec, buffer: Buffer, offset: number): number {
    const code = fastCode(this);
    if (!code) return original.serialize.call(this, buffer, offset);
    if (!Buffer.isBuffer(buffer)) throw new Error('buffer must an instance of Node.js Buffer class.');
    if (offset < 0 || offset >= buffer.length) throw new Error('offset: ' + offset + ' is out of buffer range.');
    if (offset + code.length(this) > buffer.length) throw new Error('buffer does not have enough space.');
    return code.write(this, buffer, offset);
  };
  recordProto.deserialize = function (this: Rec, buffer: Buffer, offset: number): number {
    const code = fastCode(this);
    if (!code) return original.deserialize.call(this, buffer, offset);
    if (!Buffer.isBuffer(buffer)) throw new Error('buffer must an instance of Node.js Buffer class.');
    if (offset < 0 || offset >= buffer.length) throw new Error('offset: ' + offset + ' is out of buffer range.');
    return code.read(this, buffer, offset);
  };
  for (const group of [jute.data, jute.protocol]) {
    for (const [name, old] of Object.entries(group)) {
      const spec = new old().specification as Spec;
      const code = compile(spec);
      if (code) group[name] = fastConstructor(spec, code, old);
    }
  }
  jute.Request.prototype.toBuffer = function (this: { header: Rec | null; payload: Rec | null }): Buffer {
    const h = this.header;
    const p = this.payload;
    const size = (h ? h.byteLength() : 0) + (p ? p.byteLength() : 0);
    const buf = Buffer.allocUnsafe(size + 4);
    buf.writeInt32BE(size, 0);
    let off = 4;
    if (h) off += writeAny(h, buf, off);
    if (p) off += writeAny(p, buf, off);
    if (off !== size + 4) throw new Error(`request encoding wrote ${off - 4} bytes, measured ${size}`);
    return buf;
  };
  jute.TransactionRequest = fastTransactionRequest(jute);
  // Every op of a multi has its path checked by two regexes; a one-pass check accepts what they
  // accept, and anything it doubts still goes to the library's own (its errors unchanged).
  const Path = require('node-zookeeper-client/lib/Path.js') as { validate(path: unknown): void };
  const validate = Path.validate;
  Path.validate = (path: unknown): void => {
    if (!isPlainPath(path)) validate(path);
  };
  CM.prototype['onSocketData'] = framedOnSocketData(CM.prototype['onSocketData'] as (this: Cm, b: Buffer) => void);
  CM.prototype['onPacketQueueReadable'] = corkedOnPacketQueueReadable(CM.prototype['onPacketQueueReadable'] as (this: Cm) => void);
  enableOwnRequests();
  installed = true;
  return true;
}
