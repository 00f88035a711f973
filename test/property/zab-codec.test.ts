import { describe, expect } from 'vitest';
import { test, fc } from '@fast-check/vitest';
import { decodeZabMessage, encodeProposalParts, encodeZabMessage } from '../../coordinator/zab/message-codec.ts';
import { ProtocolError } from '../../coordinator/protocol/error-codes.ts';
import type { ZabMessage } from '../../coordinator/zab/messages.ts';

const id = fc.integer({ min: 0, max: 255 });
const z = fc.integer({ min: 0, max: 2 ** 53 - 1 });
const entry = fc.record({ zxid: z, data: fc.uint8Array({ maxLength: 30 }).map((a) => Buffer.from(a)) });
const msg: fc.Arbitrary<Exclude<ZabMessage, { kind: 'disconnected' }>> = fc.oneof(
  fc.record({ kind: fc.constant('vote' as const), from: id, to: id, round: z, vote: fc.record({ leader: id, zxid: z, epoch: z }), state: fc.constantFrom('looking' as const, 'following' as const, 'leading' as const) }),
  fc.record({ kind: fc.constant('followerInfo' as const), from: id, to: id, acceptedEpoch: z, lastZxid: z }),
  fc.record({ kind: fc.constant('leaderInfo' as const), from: id, to: id, epoch: z }),
  fc.record({ kind: fc.constant('ackEpoch' as const), from: id, to: id, epoch: z, currentEpoch: z, lastZxid: z }),
  fc.record({ kind: fc.constant('sync' as const), from: id, to: id, epoch: z, truncateTo: fc.option(z, { nil: null }), snapshot: fc.option(fc.record({ zxid: z, data: fc.option(fc.uint8Array({ maxLength: 30 }).map((a) => Buffer.from(a)), { nil: null }) }), { nil: null }), entries: fc.array(entry, { maxLength: 4 }), commitZxid: z }),
  fc.record({ kind: fc.constantFrom('ackNewLeader' as const, 'pong' as const), from: id, to: id, epoch: z }),
  fc.record({ kind: fc.constant('upToDate' as const), from: id, to: id, epoch: z, commitZxid: z }),
  fc.record({ kind: fc.constant('proposal' as const), from: id, to: id, epoch: z, entry }),
  fc.record({ kind: fc.constantFrom('ack' as const, 'commit' as const), from: id, to: id, epoch: z, zxid: z }),
  fc.record({ kind: fc.constant('ping' as const), from: id, to: id, epoch: z, commitZxid: z }),
);

describe('ZAB message codec', () => {
  test.prop([msg])('round-trips every message', (m) => {
    expect(decodeZabMessage(encodeZabMessage(m).subarray(4))).toEqual(m);
  });

  test.prop([id, id, z, entry])('a proposal in parts is byte for byte the encoded message', (from, to, epoch, e) => {
    const m = { kind: 'proposal' as const, from, to, epoch, entry: e };
    const parts = encodeProposalParts(m);
    expect(parts[1]).toBe(e.data); // the data itself, not a copy
    expect(Buffer.concat(parts)).toEqual(encodeZabMessage(m).subarray(4));
  });

  test.prop([fc.uint8Array({ maxLength: 80 })])('garbage is a ProtocolError, never a crash', (bytes) => {
    try {
      decodeZabMessage(Buffer.from(bytes));
    } catch (err) {
      expect(err).toBeInstanceOf(ProtocolError);
    }
  });
});
