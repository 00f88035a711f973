/**
 * A faster encoder for node-zookeeper-client's multi request (its
 * TransactionRequest), installed once over the library's own. The library
 * serializes records reflectively and measures every record three times
 * (the request's size, the multi's size check, each record's own check); a
 * claim or finish multi of a hundred runs made that the largest share of a
 * worker's CPU per job. This walks the same specifications and writes the
 * same bytes (chroot included), measuring once. A record of a shape it does
 * not know leaves the request to the library's code.
 */
import { createRequire } from 'node:module';

interface Attribute {
  name: string;
  type: string;
}

interface JuteRecord {
  specification: Attribute[];
  chrootPath?: string;
  [field: string]: unknown;
}

interface TransactionRequestLike {
  records: JuteRecord[];
  byteLength(): number;
  serialize(buffer: Buffer, offset: number): number;
}

type Kind = 'int' | 'boolean' | 'ustring' | 'buffer' | 'record' | 'vector-record';

interface Field {
  name: string;
  kind: Kind;
  isPath: boolean;
}

const plans = new WeakMap<Attribute[], Field[] | null>();

function planOf(spec: Attribute[]): Field[] | null {
  let plan = plans.get(spec);
  if (plan !== undefined) return plan;
  plan = [];
  for (const a of spec) {
    let kind: Kind | null = null;
    if (a.type === 'int' || a.type === 'boolean' || a.type === 'ustring' || a.type === 'buffer') kind = a.type;
    else if (/^data\.\w+$/.test(a.type)) kind = 'record';
    else if (/^vector<data\.\w+>$/.test(a.type)) kind = 'vector-record';
    // The watch lists of SetWatches get a chroot per element: not a multi's record, not handled here.
    if (kind === null || a.name === 'dataWatches' || a.name === 'existWatches' || a.name === 'childWatches') {
      plan = null;
      break;
    }
    plan.push({ name: a.name, kind, isPath: a.name === 'path' });
  }
  plans.set(spec, plan);
  return plan;
}

/** The library's prependChroot. */
function withChroot(rec: JuteRecord, path: unknown): unknown {
  const chroot = rec.chrootPath;
  if (!chroot) return path;
  return path === '/' ? chroot : `${chroot}${String(path)}`;
}

/** Bytes of a record, or -1 when some part of it is not a shape this encoder knows. */
function sizeOf(rec: JuteRecord): number {
  const plan = planOf(rec.specification);
  if (plan === null) return -1;
  let size = 0;
  for (const f of plan) {
    const value = f.isPath ? withChroot(rec, rec[f.name]) : rec[f.name];
    switch (f.kind) {
      case 'int':
        size += 4;
        break;
      case 'boolean':
        size += 1;
        break;
      case 'ustring':
        size += 4 + (typeof value === 'string' ? Buffer.byteLength(value) : 0);
        break;
      case 'buffer':
        size += 4 + (Buffer.isBuffer(value) ? value.length : 0);
        break;
      case 'record': {
        const n = sizeOf(value as JuteRecord);
        if (n < 0) return -1;
        size += n;
        break;
      }
      case 'vector-record':
        size += 4;
        if (Array.isArray(value)) {
          for (const item of value) {
            const n = sizeOf(item as JuteRecord);
            if (n < 0) return -1;
            size += n;
          }
        }
        break;
    }
  }
  return size;
}

/** Writes a record sizeOf accepted; returns the offset after it. */
function writeRecord(rec: JuteRecord, buf: Buffer, offset: number): number {
  const plan = planOf(rec.specification) as Field[];
  let o = offset;
  for (const f of plan) {
    const value = f.isPath ? withChroot(rec, rec[f.name]) : rec[f.name];
    switch (f.kind) {
      case 'int':
        buf.writeInt32BE(value as number, o);
        o += 4;
        break;
      case 'boolean':
        buf.writeUInt8(value ? 1 : 0, o);
        o += 1;
        break;
      case 'ustring':
        if (typeof value === 'string') {
          const n = buf.write(value, o + 4, 'utf8');
          buf.writeInt32BE(n, o);
          o += 4 + n;
        } else {
          buf.writeInt32BE(-1, o);
          o += 4;
        }
        break;
      case 'buffer':
        if (Buffer.isBuffer(value)) {
          buf.writeInt32BE(value.length, o);
          value.copy(buf, o + 4);
          o += 4 + value.length;
        } else {
          buf.writeInt32BE(-1, o);
          o += 4;
        }
        break;
      case 'record':
        o = writeRecord(value as JuteRecord, buf, o);
        break;
      case 'vector-record':
        if (Array.isArray(value)) {
          buf.writeInt32BE(value.length, o);
          o += 4;
          for (const item of value) o = writeRecord(item as JuteRecord, buf, o);
        } else {
          buf.writeInt32BE(-1, o);
          o += 4;
        }
        break;
    }
  }
  return o;
}

function sizeOfAll(records: JuteRecord[]): number {
  let size = 0;
  for (const r of records) {
    const n = sizeOf(r);
    if (n < 0) return -1;
    size += n;
  }
  return size;
}

let installed = false;

/** Puts the fast encoder on the library's TransactionRequest (once per process). */
export function installFastMulti(): void {
  if (installed) return;
  installed = true;
  let proto: TransactionRequestLike;
  try {
    const jute = createRequire(import.meta.url)('node-zookeeper-client/lib/jute/index.js') as { TransactionRequest?: { prototype: TransactionRequestLike } };
    if (!jute.TransactionRequest) return;
    proto = jute.TransactionRequest.prototype;
  } catch {
    return; // another library layout: keep its own encoder
  }
  const libByteLength = proto.byteLength;
  const libSerialize = proto.serialize;
  if (typeof libByteLength !== 'function' || typeof libSerialize !== 'function') return;
  proto.byteLength = function (this: TransactionRequestLike): number {
    const n = Array.isArray(this.records) ? sizeOfAll(this.records) : -1;
    return n < 0 ? libByteLength.call(this) : n;
  };
  proto.serialize = function (this: TransactionRequestLike, buffer: Buffer, offset: number): number {
    const size = Array.isArray(this.records) ? sizeOfAll(this.records) : -1;
    if (size < 0 || !Buffer.isBuffer(buffer) || offset < 0 || offset + size > buffer.length) return libSerialize.call(this, buffer, offset);
    let o = offset;
    for (const r of this.records) o = writeRecord(r, buffer, o);
    return size;
  };
}
