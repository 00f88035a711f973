/**
 * The ZAB peer's commit rule under reconfiguration (ADR 0011): a reconfig
 * entry, and every entry after it until it commits, needs a quorum of the
 * old configuration and of the new one; once committed only the new one
 * counts, and a leader that no longer votes steps down.
 */
import { describe, it, expect } from 'vitest';
import { Configs } from '../../../coordinator/zab/configs.ts';
import { ZabPeer } from '../../../coordinator/zab/peer.ts';
import type { Entry, Ready } from '../../../coordinator/zab/messages.ts';

const configOf = (data: Buffer) => {
  const m = /^reconfig v=([\d,]*)$/.exec(data.toString());
  return m ? { voters: (m[1] as string).split(',').map(Number), observers: [], data } : null;
};
const entry = (zxid: number, data: string): Entry => ({ zxid, data: Buffer.from(data) });

describe('Configs', () => {
  it('needs old and new quorums from the reconfig entry on, only the new one after it commits', () => {
    const c = new Configs({ zxid: 0, voters: [1, 2, 3], observers: [], data: null }, configOf);
    const log = [entry(1, 'set a'), entry(2, 'reconfig v=1,4,5'), entry(3, 'set b')];
    for (const e of log) c.appended(e);
    expect(c.newestPending?.voters).toEqual([1, 4, 5]);
    expect(c.votes(4) && c.votes(2)).toBe(true);
    const acks = new Map<number, Set<number>>([
      [1, new Set([1, 2])],
      [2, new Set([1, 2, 3])], // the old quorum only
      [3, new Set([1, 2, 3])],
    ]);
    expect(c.lastCommittable(log, 0, acks, 0)).toBe(1);
    acks.set(2, new Set([1, 2, 4]));
    // Entry 3 still needs the old configuration's quorum as well: {1,2,3} has it, but not {1,4,5}'s.
    expect(c.lastCommittable(log, 0, acks, 0)).toBe(2);
    acks.set(3, new Set([1, 4]));
    expect(c.lastCommittable(log, 0, acks, 0)).toBe(3);
    expect(c.committed(2)).toBe(true);
    expect(c.active.voters).toEqual([1, 4, 5]);
    expect(c.votes(2)).toBe(false);
  });

  it('a truncated reconfig is no longer in play; an older configuration is never adopted', () => {
    const c = new Configs({ zxid: 5, voters: [1, 2, 3], observers: [], data: null }, configOf);
    c.appended(entry(7, 'reconfig v=1,2'));
    c.truncated(6);
    expect(c.newestPending).toBeNull();
    expect(c.adopt({ zxid: 4, voters: [9], observers: [], data: null }, [], 0)).toBe(false);
    expect(c.active.zxid).toBe(5);
  });
});

describe('a leader removed by a reconfig', () => {
  it('commits the reconfig on both quorums, sends the commit, then steps down', () => {
    // A lone voter leads {1}; it adds 2 and removes itself: {2} must ack too.
    const p = new ZabPeer({ id: 1, members: [1], initLimit: 10, syncLimit: 5, finalizeWait: 0, configOf }, { acceptedEpoch: 0, currentEpoch: 0, log: [] });
    const drain = (): Ready[] => {
      const out: Ready[] = [];
      while (p.hasReady()) {
        const r = p.ready();
        out.push(r);
        p.advance(r);
      }
      return out;
    };
    p.tick();
    drain();
    expect(p.state).toBe('leading');
    expect(p.established).toBe(true);
    // Member 2 joins as a non-voting learner and syncs.
    p.step({ kind: 'followerInfo', from: 2, to: 1, acceptedEpoch: 0, lastZxid: 0 });
    p.step({ kind: 'ackEpoch', from: 2, to: 1, epoch: 1, currentEpoch: 0, lastZxid: 0 });
    p.step({ kind: 'ackNewLeader', from: 2, to: 1, epoch: 1 });
    drain();
    expect(p.isQuorumSynced([2])).toBe(true);
    const z = p.propose(Buffer.from('reconfig v=2'));
    expect(z).not.toBeNull();
    drain();
    // Its own ack is the old quorum; the new one's is missing.
    expect(p.committed).toBeLessThan(z as number);
    expect(p.state).toBe('leading');
    p.step({ kind: 'ack', from: 2, to: 1, epoch: 1, zxid: z as number });
    expect(p.committed).toBe(z);
    expect(p.config.voters).toEqual([2]);
    expect(p.state).toBe('looking');
    const sent = drain().flatMap((r) => r.messages);
    expect(sent).toContainEqual(expect.objectContaining({ kind: 'commit', to: 2, zxid: z }));
  });
});

describe('a member that missed a reconfig', () => {
  it('adopts the newer committed configuration a vote carries while looking, and asks its members', () => {
    const p = new ZabPeer({ id: 3, members: [1, 2, 3], initLimit: 10, syncLimit: 5, configOf }, { acceptedEpoch: 1, currentEpoch: 1, log: [] });
    const newer = { zxid: 0x100000005, voters: [1, 2, 4], observers: [], data: Buffer.from('reconfig v=1,2,4') };
    p.step({ kind: 'vote', from: 1, to: 3, round: 1, vote: { leader: 4, zxid: 0x100000009, epoch: 1 }, state: 'following', config: newer });
    expect(p.config).toBe(newer);
    expect(p.isObserver).toBe(true); // in no configuration now: a non-voting learner
    // Only a voter of the committed configuration can win: member 3's own candidacy no longer counts.
    p.tick();
    p.tick();
    const r = p.ready();
    expect(new Set(r.messages.filter((m) => m.kind === 'vote').map((m) => m.to))).toEqual(new Set([1, 2, 4]));
  });

  it('keeps its configuration when a vote carries an older one', () => {
    const mine = { zxid: 0x100000005, voters: [1, 2, 3], observers: [], data: null };
    const p = new ZabPeer({ id: 3, members: [1, 2, 3], initLimit: 10, syncLimit: 5, configOf, configZxid: mine.zxid }, { acceptedEpoch: 1, currentEpoch: 1, log: [] });
    p.step({ kind: 'vote', from: 1, to: 3, round: 1, vote: { leader: 1, zxid: 0, epoch: 1 }, state: 'looking', config: { zxid: 2, voters: [1, 5], observers: [], data: null } });
    expect(p.config.zxid).toBe(mine.zxid);
    expect(p.config.voters).toEqual([1, 2, 3]);
  });
});
