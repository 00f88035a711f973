/**
 * Transactions as bytes, for the log and for replication.
 *
 * Layout (jute encoding, no length prefix):
 *   TxnHeader: sessionId long | cxid int | zxid long | time long
 *   then the txn: type int (ZooKeeper opcode) and its fields:
 *     create (1):        path ustring | data buffer | acl vector | ephemeralOwner long | parentCVersion int
 *     delete (2):        path ustring
 *     setData (5):       path ustring | data buffer | version int
 *     setACL (7):        path ustring | acl vector | version int
 *     check (13):        path ustring | version int
 *     multi (14):        count int, then each sub-txn as `type int` + fields
 *     createSession(-10):timeoutMs int
 *     closeSession(-11): paths vector<ustring>
 *     error (-1):        err int
 *     reconfig (16):     data buffer (the new configuration's text; /zookeeper/config)
 * Null data stays null (length -1); owners keep all 64 bits.
 */
import { JuteReader } from './reader.ts';
import { JuteWriter } from './writer.ts';
import { ProtocolError } from './error-codes.ts';
import type { LoggedTxn, MultiTxn, Txn } from '../txn/txn.ts';

const TYPE = { create: 1, delete: 2, setData: 5, setACL: 7, check: 13, multi: 14, reconfig: 16, createSession: -10, closeSession: -11, error: -1 } as const;
/** Where a txn's type sits: after the header (sessionId long, cxid int, zxid long, time long). */
const TYPE_OFFSET = 28;

function writeTxn(w: JuteWriter, t: Txn): void {
  switch (t.type) {
    case 'create':
      w.int(TYPE.create).ustring(t.path).buffer(t.data).aclVector(t.acl).longBig(t.ephemeralOwner).int(t.parentCVersion);
      return;
    case 'delete':
      w.int(TYPE.delete).ustring(t.path);
      return;
    case 'setData':
      w.int(TYPE.setData).ustring(t.path).buffer(t.data).int(t.version);
      return;
    case 'setACL':
      w.int(TYPE.setACL).ustring(t.path).aclVector(t.acl).int(t.version);
      return;
    case 'check':
      w.int(TYPE.check).ustring(t.path).int(t.version);
      return;
    case 'multi':
      w.int(TYPE.multi).int(t.txns.length);
      for (const sub of t.txns) writeTxn(w, sub);
      return;
    case 'createSession':
      w.int(TYPE.createSession).int(t.timeoutMs);
      return;
    case 'closeSession':
      w.int(TYPE.closeSession).stringVector(t.paths);
      return;
    case 'error':
      w.int(TYPE.error).int(t.err);
      return;
    case 'reconfig':
      w.int(TYPE.reconfig).buffer(t.data);
      return;
  }
}

function readTxn(r: JuteReader, nested: boolean): Txn {
  const type = r.int();
  switch (type) {
    case TYPE.create:
      return { type: 'create', path: r.ustring(), data: r.bufferCopy(), acl: r.aclVector(), ephemeralOwner: r.longBig(), parentCVersion: r.int() };
    case TYPE.delete:
      return { type: 'delete', path: r.ustring() };
    case TYPE.setData:
      return { type: 'setData', path: r.ustring(), data: r.bufferCopy(), version: r.int() };
    case TYPE.setACL:
      return { type: 'setACL', path: r.ustring(), acl: r.aclVector(), version: r.int() };
    case TYPE.check:
      return { type: 'check', path: r.ustring(), version: r.int() };
    case TYPE.error:
      return { type: 'error', err: r.int() };
    case TYPE.multi: {
      if (nested) throw new ProtocolError('multi inside multi');
      const n = r.int();
      if (n < 0 || n * 4 > r.remaining) throw new ProtocolError(`bad multi count ${n}`);
      const txns: MultiTxn['txns'] = [];
      for (let i = 0; i < n; i++) {
        const sub = readTxn(r, true);
        if (sub.type === 'setACL' || sub.type === 'createSession' || sub.type === 'closeSession' || sub.type === 'multi' || sub.type === 'reconfig') {
          throw new ProtocolError(`${sub.type} inside multi`);
        }
        txns.push(sub);
      }
      return { type: 'multi', txns };
    }
    case TYPE.createSession:
      return { type: 'createSession', timeoutMs: r.int() };
    case TYPE.reconfig:
      if (nested) throw new ProtocolError('reconfig inside multi');
      return { type: 'reconfig', data: r.bufferCopy() ?? Buffer.alloc(0) };
    case TYPE.closeSession:
      return { type: 'closeSession', paths: r.stringVector() };
    default:
      throw new ProtocolError(`unknown txn type ${type}`);
  }
}

export function encodeTxn(t: LoggedTxn): Buffer {
  const w = new JuteWriter(160, false);
  const h = t.header;
  w.longBig(h.sessionId).int(h.cxid).long(h.zxid).long(h.time);
  writeTxn(w, t.txn);
  return w.bytes();
}

/** A reconfig txn's configuration text, read without decoding anything else (the peer asks of every entry it logs). */
export function reconfigDataOf(bytes: Buffer): Buffer | null {
  if (bytes.length < TYPE_OFFSET + 8 || bytes.readInt32BE(TYPE_OFFSET) !== TYPE.reconfig) return null;
  const txn = decodeTxn(bytes).txn;
  return txn.type === 'reconfig' ? txn.data : null;
}

export function decodeTxn(bytes: Buffer): LoggedTxn {
  const r = new JuteReader(bytes);
  const header = { sessionId: r.longBig(), cxid: r.int(), zxid: r.long(), time: r.long() };
  return { header, txn: readTxn(r, false) };
}
