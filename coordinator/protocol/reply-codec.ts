/**
 * Replies, server to client: encode on the server, decode for test clients.
 * A reply with err != 0 is a bare ReplyHeader; failed multis are the
 * exception and carry their per-op results in an err-0 reply.
 */
import { JuteReader } from './reader.ts';
import { JuteWriter } from './writer.ts';
import { ProtocolError } from './error-codes.ts';
import type { ConnectResponse, MultiResult, ReplyHeader, Response, WatcherEvent } from './records.ts';
import type { EventTypeValue } from './opcodes.ts';

export function encodeConnectResponse(c: ConnectResponse): Buffer {
  const w = new JuteWriter(48);
  w.int(c.protocolVersion).int(c.timeOut).longBig(c.sessionId).buffer(c.passwd);
  if (c.readOnly !== undefined) w.bool(c.readOnly);
  return w.frame();
}

export function decodeConnectResponse(body: Buffer): ConnectResponse {
  const r = new JuteReader(body);
  const protocolVersion = r.int();
  const timeOut = r.int();
  const sessionId = r.longBig();
  const passwd = Buffer.from(r.buffer() ?? Buffer.alloc(0));
  const readOnly = r.remaining > 0 ? r.bool() : undefined;
  return { protocolVersion, timeOut, sessionId, passwd, readOnly };
}

export function encodeNotification(e: WatcherEvent): Buffer {
  const w = new JuteWriter(32 + e.path.length * 3);
  w.int(-1).long(-1).int(0).int(e.type).int(e.state).ustring(e.path);
  return w.frame();
}

export function decodeNotification(body: Buffer): WatcherEvent {
  const r = new JuteReader(body);
  r.int();
  r.long();
  r.int();
  return { type: r.int() as EventTypeValue, state: r.int(), path: r.ustring() };
}

export function encodeReply(header: ReplyHeader, response: Response | null): Buffer {
  const w = new JuteWriter(response === null ? 20 : 128);
  encodeReplyInto(w, header, response);
  return w.frame();
}

export function encodeReplyInto(w: JuteWriter, header: ReplyHeader, response: Response | null): void {
  w.int(header.xid).long(header.zxid).int(header.err);
  if (response !== null) writeResponseBody(w, response);
}

function writeMultiResult(w: JuteWriter, m: MultiResult): void {
  w.int(m.type).bool(false).int(m.type === -1 ? m.err : 0);
  switch (m.type) {
    case 1:
      w.ustring(m.path);
      return;
    case 15:
      w.ustring(m.path).stat(m.stat);
      return;
    case 5:
      w.stat(m.stat);
      return;
    case -1:
      w.int(m.err);
      return;
    case 4:
      w.buffer(m.data).stat(m.stat);
      return;
    case 8:
      w.stringVector(m.children);
      return;
    case 2:
    case 13:
      return;
  }
}

function writeResponseBody(w: JuteWriter, p: Response): void {
  switch (p.op) {
    case 1:
    case 9:
      w.ustring(p.path);
      return;
    case 15:
    case 19:
    case 21:
      w.ustring(p.path).stat(p.stat);
      return;
    case 3:
    case 5:
    case 7:
    case 13:
      w.stat(p.stat);
      return;
    case 4:
    case 16:
      w.buffer(p.data).stat(p.stat);
      return;
    case 6:
      w.aclVector(p.acl).stat(p.stat);
      return;
    case 8:
      w.stringVector(p.children);
      return;
    case 12:
      w.stringVector(p.children).stat(p.stat);
      return;
    case 102:
      w.buffer(p.token);
      return;
    case 103:
      w.stringVector(p.ephemerals);
      return;
    case 104:
      w.int(p.totalNumber);
      return;
    case 106:
      w.int(0);
      return;
    case 107:
      w.int(p.clientInfo.length);
      for (const c of p.clientInfo) w.ustring(c.authScheme).ustring(c.user);
      return;
    case 14:
    case 22:
      for (const m of p.results) writeMultiResult(w, m);
      w.int(-1).bool(true).int(-1);
      return;
    case 2:
    case 11:
    case 17:
    case 18:
    case 100:
    case 101:
    case 105:
    case -11:
      return;
  }
}

function readMultiResults(r: JuteReader): MultiResult[] {
  const out: MultiResult[] = [];
  for (;;) {
    const type = r.int();
    const done = r.bool();
    const err = r.int();
    if (done) return out;
    switch (type) {
      case 1:
        out.push({ type: 1, path: r.ustring() });
        break;
      case 15:
        out.push({ type: 15, path: r.ustring(), stat: r.stat() });
        break;
      case 2:
      case 13:
        out.push({ type });
        break;
      case 5:
        out.push({ type: 5, stat: r.stat() });
        break;
      case -1:
        out.push({ type: -1, err: r.int() });
        break;
      case 4:
        out.push({ type: 4, data: r.bufferCopy(), stat: r.stat() });
        break;
      case 8:
        out.push({ type: 8, children: r.stringVector() });
        break;
      default:
        throw new ProtocolError(`unknown multi result type ${type} (err ${err})`);
    }
  }
}

/** Client side: `op` is the request's opcode, which decides the body's shape. */
export function decodeReply(body: Buffer, op: number): { header: ReplyHeader; response: Response | null } {
  const r = new JuteReader(body);
  const header: ReplyHeader = { xid: r.int(), zxid: r.long(), err: r.int() };
  if (header.err !== 0 || r.remaining === 0) {
    if (op === 2 || op === 11 || op === 17 || op === 18 || op === 100 || op === 101 || op === 105 || op === -11) {
      return { header, response: header.err === 0 ? ({ op } as Response) : null };
    }
    return { header, response: null };
  }
  let response: Response;
  switch (op) {
    case 1:
      response = { op: 1, path: r.ustring() };
      break;
    case 9:
      response = { op: 9, path: r.ustring() };
      break;
    case 15:
    case 19:
    case 21:
      response = { op, path: r.ustring(), stat: r.stat() };
      break;
    case 3:
    case 5:
    case 7:
    case 13:
      response = { op, stat: r.stat() };
      break;
    case 4:
    case 16:
      response = { op, data: r.bufferCopy(), stat: r.stat() };
      break;
    case 6:
      response = { op: 6, acl: r.aclVector(), stat: r.stat() };
      break;
    case 8:
      response = { op: 8, children: r.stringVector() };
      break;
    case 12:
      response = { op: 12, children: r.stringVector(), stat: r.stat() };
      break;
    case 102:
      response = { op: 102, token: r.bufferCopy() ?? Buffer.alloc(0) };
      break;
    case 103:
      response = { op: 103, ephemerals: r.stringVector() };
      break;
    case 104:
      response = { op: 104, totalNumber: r.int() };
      break;
    case 106:
      r.int();
      response = { op: 106 };
      break;
    case 107: {
      const n = r.int();
      const clientInfo: { authScheme: string; user: string }[] = [];
      for (let i = 0; i < n; i++) clientInfo.push({ authScheme: r.ustring(), user: r.ustring() });
      response = { op: 107, clientInfo };
      break;
    }
    case 14:
    case 22:
      response = { op, results: readMultiResults(r) };
      break;
    default:
      throw new ProtocolError(`no reply body known for op ${op}`);
  }
  return { header, response };
}
