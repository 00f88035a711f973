/**
 * An ensemble of one (a standalone server): its peer elects itself, settles
 * its epoch alone, establishes once that epoch is durable, commits the log it
 * started with, and commits each proposal once it is on its own disk.
 */
import { describe, it, expect } from 'vitest';
import { ZabPeer } from '../../../coordinator/zab/peer.ts';
import { makeZxid } from '../../../coordinator/zab/zxid.ts';

function drain(p: ZabPeer): { persisted: number[]; committed: number[]; epochs: (number | null)[] } {
  const out = { persisted: [] as number[], committed: [] as number[], epochs: [] as (number | null)[] };
  while (p.hasReady()) {
    const r = p.ready();
    expect(r.messages).toEqual([]);
    out.persisted.push(...r.persist.entries.map((e) => e.zxid));
    out.committed.push(...r.committed.map((e) => e.zxid));
    if (r.persist.currentEpoch !== null) out.epochs.push(r.persist.currentEpoch);
    p.advance(r);
  }
  return out;
}

describe('a lone voter', () => {
  it('leads at its first tick in epoch acceptedEpoch+1 and commits what its log held', () => {
    // A standalone data dir from before: epoch 0 zxids, no epoch files.
    const log = [1, 2, 3].map((n) => ({ zxid: makeZxid(0, n), data: Buffer.from([n]) }));
    const p = new ZabPeer({ id: 1, members: [1], initLimit: 10, syncLimit: 5, finalizeWait: 0 }, { acceptedEpoch: 0, currentEpoch: 0, log });
    expect(p.isServing).toBe(false);
    p.tick();
    expect(p.state).toBe('leading');
    const first = drain(p);
    expect(first.epochs).toEqual([1]);
    expect(first.committed).toEqual(log.map((e) => e.zxid));
    expect(p.isServing).toBe(true);
    expect(p.nextZxid).toBe(makeZxid(1, 1));

    const a = p.propose(Buffer.from('a'));
    const b = p.propose(Buffer.from('b'));
    expect([a, b]).toEqual([makeZxid(1, 1), makeZxid(1, 2)]);
    // One Ready persists both (group commit); the next commits them.
    const r = p.ready();
    expect(r.persist.entries.map((e) => e.zxid)).toEqual([a, b]);
    expect(r.committed).toEqual([]);
    p.advance(r);
    expect(p.committed).toBe(b);
    expect(drain(p).committed).toEqual([a, b]);
    // Alone, it never loses its quorum.
    for (let i = 0; i < 50; i++) p.tick();
    expect(p.isServing).toBe(true);
  });

  it('starts a restart in the next epoch', () => {
    const p = new ZabPeer({ id: 1, members: [1], initLimit: 10, syncLimit: 5 }, { acceptedEpoch: 4, currentEpoch: 4, log: [] });
    for (let i = 0; i < 3 && !p.isServing; i++) {
      p.tick();
      drain(p);
    }
    expect(p.isServing).toBe(true);
    expect(p.epoch).toBe(5);
  });
});
