/**
 * Member-to-member frames that are not ZAB: forwarded writes and session
 * touches (pure). Layout of a forward: sessionId long | cxid int | kind int |
 * timeoutMs int | authIds vector<{scheme, id}> | body buffer. A touch is a
 * vector of session ids.
 */
import { JuteReader } from '../protocol/reader.ts';
import { JuteWriter } from '../protocol/writer.ts';
import { ProtocolError } from '../protocol/error-codes.ts';
import type { ForwardedRequest } from '../server/zk-server.ts';

const KINDS: readonly ForwardedRequest['kind'][] = ['request', 'createSession', 'closeSession', 'sync'];

export function encodeForward(f: ForwardedRequest): Buffer {
  const w = new JuteWriter(64 + (f.body?.length ?? 0), false);
  w.longBig(f.sessionId).int(f.cxid).int(KINDS.indexOf(f.kind)).int(f.timeoutMs).int(f.authIds.length);
  for (const a of f.authIds) w.ustring(a.scheme).ustring(a.id);
  w.buffer(f.body);
  // Sized exactly above: the writer's bytes are the frame, no copy needed.
  return w.bytes();
}

export function decodeForward(b: Buffer): ForwardedRequest {
  const r = new JuteReader(b);
  const sessionId = r.longBig();
  const cxid = r.int();
  const kind = KINDS[r.int()];
  if (!kind) throw new ProtocolError('bad forward kind');
  const timeoutMs = r.int();
  const n = r.int();
  if (n < 0 || n > r.remaining) throw new ProtocolError('bad auth id count');
  const authIds = [];
  for (let i = 0; i < n; i++) authIds.push({ scheme: r.ustring(), id: r.ustring() });
  // A view, not a copy: the leader decodes the request from it at once, and that decode copies
  // what the tree keeps (request-codec), so the frame's chunk is not held.
  return { sessionId, cxid, kind, timeoutMs, authIds, body: r.buffer() };
}

export function encodeTouch(ids: Iterable<bigint>): Buffer {
  const list = [...ids];
  const w = new JuteWriter(8 + list.length * 8, false);
  w.int(list.length);
  for (const id of list) w.longBig(id);
  return Buffer.from(w.bytes());
}

export function decodeTouch(b: Buffer): bigint[] {
  const r = new JuteReader(b);
  const n = r.int();
  if (n < 0 || n * 8 > r.remaining) throw new ProtocolError('bad touch count');
  const out: bigint[] = [];
  for (let i = 0; i < n; i++) out.push(r.longBig());
  return out;
}
