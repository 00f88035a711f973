/**
 * ZAB messages on the wire between members (pure). Layout: kind byte | from
 * int | to int | the kind's fields in declaration order (jute encoding:
 * ints, longs as 8 bytes, entries as zxid long + data buffer, votes as
 * leader int + zxid long + epoch long, states as a byte, then the
 * sender's configuration as in a sync). A sync carries
 * its SNAP as snapshot zxid long (-1: none) + snapshot buffer, before its
 * entries, and after them the leader's configuration: zxid long (-1: none),
 * voters and observers as int vectors, the config text as a buffer.
 */
import { JuteReader } from '../protocol/reader.ts';
import { JuteWriter } from '../protocol/writer.ts';
import { ProtocolError } from '../protocol/error-codes.ts';
import type { Entry, PeerState, ZabMessage } from './messages.ts';
import type { QuorumConfig } from './quorum.ts';

const KINDS = ['vote', 'followerInfo', 'leaderInfo', 'ackEpoch', 'sync', 'ackNewLeader', 'upToDate', 'proposal', 'ack', 'commit', 'ping', 'pong'] as const;
const STATES: readonly PeerState[] = ['looking', 'following', 'leading'];

function writeEntry(w: JuteWriter, e: Entry): void {
  w.long(e.zxid).buffer(e.data);
}

function readEntry(r: JuteReader): Entry {
  const zxid = r.long();
  return { zxid, data: r.bufferCopy() ?? Buffer.alloc(0) };
}

function writeConfig(w: JuteWriter, c: QuorumConfig | undefined): void {
  if (!c) {
    w.long(-1);
    return;
  }
  w.long(c.zxid).int(c.voters.length);
  for (const v of c.voters) w.int(v);
  w.int(c.observers.length);
  for (const o of c.observers) w.int(o);
  w.buffer(c.data);
}

function readIds(r: JuteReader): number[] {
  const n = r.int();
  if (n < 0 || n * 4 > r.remaining) throw new ProtocolError(`bad member count ${n}`);
  const ids: number[] = [];
  for (let i = 0; i < n; i++) ids.push(r.int());
  return ids;
}

function readConfig(r: JuteReader): QuorumConfig | undefined {
  const zxid = r.long();
  if (zxid < 0) return undefined;
  const voters = readIds(r);
  const observers = readIds(r);
  return { zxid, voters, observers, data: r.bufferCopy() };
}

/**
 * A proposal as two parts, the small head and the entry's data itself, so
 * a leader sends one txn's bytes to every follower without copying them
 * into a message per follower. Byte for byte what encodeZabMessage writes
 * (without the frame length).
 */
export function encodeProposalParts(m: Extract<ZabMessage, { kind: 'proposal' }>): [Buffer, Buffer] {
  const w = new JuteWriter(40, false);
  w.int(KINDS.indexOf(m.kind)).int(m.from).int(m.to).long(m.epoch).long(m.entry.zxid).int(m.entry.data.length);
  return [w.bytes(), m.entry.data];
}

/** Encodes one message as a length-prefixed frame. `disconnected` never travels. */
export function encodeZabMessage(m: Exclude<ZabMessage, { kind: 'disconnected' }>): Buffer {
  const w = new JuteWriter(64);
  w.int(KINDS.indexOf(m.kind)).int(m.from).int(m.to);
  switch (m.kind) {
    case 'vote':
      w.long(m.round).int(m.vote.leader).long(m.vote.zxid).long(m.vote.epoch).int(STATES.indexOf(m.state));
      writeConfig(w, m.config);
      break;
    case 'followerInfo':
      w.long(m.acceptedEpoch).long(m.lastZxid);
      break;
    case 'leaderInfo':
      w.long(m.epoch);
      break;
    case 'ackEpoch':
      w.long(m.epoch).long(m.currentEpoch).long(m.lastZxid);
      break;
    case 'sync':
      w.long(m.epoch).long(m.truncateTo ?? -1).long(m.commitZxid);
      w.long(m.snapshot?.zxid ?? -1).buffer(m.snapshot?.data ?? null);
      w.int(m.entries.length);
      for (const e of m.entries) writeEntry(w, e);
      writeConfig(w, m.config);
      break;
    case 'ackNewLeader':
    case 'pong':
      w.long(m.epoch);
      break;
    case 'upToDate':
      w.long(m.epoch).long(m.commitZxid);
      break;
    case 'proposal':
      w.long(m.epoch);
      writeEntry(w, m.entry);
      break;
    case 'ack':
    case 'commit':
      w.long(m.epoch).long(m.zxid);
      break;
    case 'ping':
      w.long(m.epoch).long(m.commitZxid);
      break;
  }
  return w.frame();
}

/** Decodes a frame body (without the length prefix); garbage is a ProtocolError. */
export function decodeZabMessage(body: Buffer): ZabMessage {
  const r = new JuteReader(body);
  const kind = KINDS[r.int()];
  const from = r.int();
  const to = r.int();
  switch (kind) {
    case 'vote': {
      const round = r.long();
      const vote = { leader: r.int(), zxid: r.long(), epoch: r.long() };
      const state = STATES[r.int()];
      if (!state) throw new ProtocolError('bad peer state');
      const config = readConfig(r);
      return config ? { kind, from, to, round, vote, state, config } : { kind, from, to, round, vote, state };
    }
    case 'followerInfo':
      return { kind, from, to, acceptedEpoch: r.long(), lastZxid: r.long() };
    case 'leaderInfo':
      return { kind, from, to, epoch: r.long() };
    case 'ackEpoch':
      return { kind, from, to, epoch: r.long(), currentEpoch: r.long(), lastZxid: r.long() };
    case 'sync': {
      const epoch = r.long();
      const trunc = r.long();
      const commitZxid = r.long();
      const snapZxid = r.long();
      // A snapshot is the one large field: keep a view of the frame, not a copy.
      const snapData = r.buffer();
      const n = r.int();
      if (n < 0 || n > r.remaining) throw new ProtocolError(`bad entry count ${n}`);
      const entries: Entry[] = [];
      for (let i = 0; i < n; i++) entries.push(readEntry(r));
      const snapshot = snapZxid < 0 ? null : { zxid: snapZxid, data: snapData };
      const config = readConfig(r);
      const m = { kind, from, to, epoch, truncateTo: trunc < 0 ? null : trunc, snapshot, entries, commitZxid } as const;
      return config ? { ...m, config } : m;
    }
    case 'ackNewLeader':
      return { kind, from, to, epoch: r.long() };
    case 'pong':
      return { kind, from, to, epoch: r.long() };
    case 'upToDate':
      return { kind, from, to, epoch: r.long(), commitZxid: r.long() };
    case 'proposal': {
      const epoch = r.long();
      return { kind, from, to, epoch, entry: readEntry(r) };
    }
    case 'ack':
      return { kind, from, to, epoch: r.long(), zxid: r.long() };
    case 'commit':
      return { kind, from, to, epoch: r.long(), zxid: r.long() };
    case 'ping':
      return { kind, from, to, epoch: r.long(), commitZxid: r.long() };
    case undefined:
      break;
  }
  throw new ProtocolError('unknown ZAB message kind');
}
