/**
 * multi (opcode 14) as an own request (own-requests.ts): the ops encoded
 * from ours directly and the results read straight into ours. Through the
 * library a multi was a Transaction op object per op and, in the reply, a
 * result record per op with a Stat record of Buffer longs, converted again
 * (a claim's take sets a few hundred records in one multi). Byte for byte
 * the request the library sends; ZooKeeper's layout in docs (zk-protocol §4).
 */
import type { Acl, CreateMode, Op, Stat } from './coordination.ts';
import { sendOwn, type OwnPayload } from './own-requests.ts';
import { readStat, readUstring, STAT_BYTES } from './wire-reader.ts';
import { MULTI_HEADER_BYTES, OpCode, readMultiHeader, writeEndHeader, writeOpHeader } from './multi-header.ts';
import { ZkCode, ZkError } from './zk-error.ts';

const { create: CREATE, delete: DELETE, setData: SET_DATA, check: CHECK, create2: CREATE2, error: ERROR } = OpCode;

const MODES: Record<CreateMode, number> = { persistent: 0, ephemeral: 1, persistent_sequential: 2, ephemeral_sequential: 3 };
const PERM_BITS: Record<string, number> = { r: 1, w: 2, c: 4, d: 8, a: 16 };

/** One result as the server sent it: a created path, a Stat, or an error code (0 for ops before a failed one). */
export interface WriteResult {
  type: number;
  err: number;
  path?: string;
  stat?: Stat;
}

/** world:anyone with every permission: what a create without an ACL gets. */
const OPEN_ACL_BYTES = encodeAcl([{ perms: 'rwcda', scheme: 'world', id: 'anyone' }]);
/** Callers pass the same ACL array for many creates: its bytes are made once. */
const aclBytes = new WeakMap<Acl[], Buffer>();

function encodeAcl(acl: Acl[]): Buffer {
  if (acl.length === 0) throw new ZkError(ZkCode.INVALID_ACL);
  const parts: Buffer[] = [];
  const n = Buffer.allocUnsafe(4);
  n.writeInt32BE(acl.length, 0);
  parts.push(n);
  for (const a of acl) {
    let perms = 0;
    for (const ch of a.perms) perms |= PERM_BITS[ch] ?? 0;
    // The library refuses an empty permission set; ZooKeeper would too.
    if (perms === 0) throw new ZkError(ZkCode.INVALID_ACL);
    const scheme = Buffer.from(a.scheme, 'utf8');
    const id = Buffer.from(a.id, 'utf8');
    const b = Buffer.allocUnsafe(4 + 4 + scheme.length + 4 + id.length);
    let off = b.writeInt32BE(perms, 0);
    off = b.writeInt32BE(scheme.length, off);
    off += scheme.copy(b, off);
    off = b.writeInt32BE(id.length, off);
    id.copy(b, off);
    parts.push(b);
  }
  return Buffer.concat(parts);
}

function aclOf(acl: Acl[] | undefined): Buffer {
  if (!acl) return OPEN_ACL_BYTES;
  let b = aclBytes.get(acl);
  if (!b) {
    b = encodeAcl(acl);
    aclBytes.set(acl, b);
  }
  return b;
}

export class MultiPayload implements OwnPayload {
  private readonly paths: Buffer[];
  private readonly acls: (Buffer | null)[];
  constructor(
    private readonly ops: readonly Op[],
    paths: readonly string[],
  ) {
    this.paths = paths.map((p) => Buffer.from(p, 'utf8'));
    this.acls = ops.map((o) => (o.op === 'create' ? aclOf(o.acl) : null));
  }
  byteLength(): number {
    let n = MULTI_HEADER_BYTES;
    for (let i = 0; i < this.ops.length; i++) {
      const o = this.ops[i] as Op;
      n += MULTI_HEADER_BYTES + 4 + (this.paths[i] as Buffer).length;
      if (o.op === 'create') n += 4 + (o.data?.length ?? 0) + (this.acls[i] as Buffer).length + 4;
      else if (o.op === 'set') n += 4 + o.data.length + 4;
      else n += 4;
    }
    return n;
  }
  serialize(buf: Buffer, start: number): number {
    let off = start;
    for (let i = 0; i < this.ops.length; i++) {
      const o = this.ops[i] as Op;
      const type = o.op === 'create' ? CREATE : o.op === 'set' ? SET_DATA : o.op === 'delete' ? DELETE : CHECK;
      off = writeOpHeader(buf, off, type);
      const p = this.paths[i] as Buffer;
      off = buf.writeInt32BE(p.length, off);
      off += p.copy(buf, off);
      if (o.op === 'create') {
        const data = o.data ?? EMPTY;
        off = buf.writeInt32BE(data.length, off);
        off += data.copy(buf, off);
        off += (this.acls[i] as Buffer).copy(buf, off);
        off = buf.writeInt32BE(MODES[o.mode ?? 'persistent'], off);
      } else if (o.op === 'set') {
        off = buf.writeInt32BE(o.data.length, off);
        off += o.data.copy(buf, off);
        off = buf.writeInt32BE(o.version ?? -1, off);
      } else {
        off = buf.writeInt32BE(o.version ?? -1, off);
      }
    }
    return writeEndHeader(buf, off) - start;
  }
  setChrootPath(): void {}
}

const EMPTY = Buffer.alloc(0);

/** Queues one multi of `ops` at `paths` (absolute, one per op) on the library client's connection. */
export function sendMultiWrite(client: object, ops: readonly Op[], paths: readonly string[], done: (err: unknown, results?: WriteResult[]) => void): void {
  sendOwn(client, OpCode.multi, new MultiPayload(ops, paths), decodeResults, done);
}

/** A multi's results from a reply frame, the body starting at `start` (exported for the wire tests). */
export function decodeResults(buf: Buffer, start: number): WriteResult[] {
  const out: WriteResult[] = [];
  let off = start;
  for (;;) {
    const { type, done, err: headerErr } = readMultiHeader(buf, off);
    off += MULTI_HEADER_BYTES;
    if (done) return out;
    switch (type) {
      case CREATE: {
        const p = readUstring(buf, off);
        out.push({ type, err: 0, path: p.value });
        off = p.next;
        break;
      }
      case CREATE2: {
        const p = readUstring(buf, off);
        out.push({ type, err: 0, path: p.value, stat: readStat(buf, p.next) });
        off = p.next + STAT_BYTES;
        break;
      }
      case SET_DATA:
        out.push({ type, err: 0, stat: readStat(buf, off) });
        off += STAT_BYTES;
        break;
      case DELETE:
      case CHECK:
        out.push({ type, err: 0 });
        break;
      case ERROR:
        out.push({ type, err: buf.readInt32BE(off) || headerErr });
        off += 4;
        break;
      default:
        throw new RangeError(`multi reply holds result type ${type}`);
    }
  }
}
