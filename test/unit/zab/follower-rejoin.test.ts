/**
 * A follower cut off from an established leader and healed rejoins that
 * leader in its epoch: its FOLLOWERINFO carries an acceptedEpoch equal to the
 * leader's epoch (it promised this very epoch), which must not make the
 * healthy leader stand down (issue 12: every such heal cost a ~2.3 s election).
 */
import { describe, it, expect } from 'vitest';
import { ZabPeer } from '../../../coordinator/zab/peer.ts';
import type { ZabMessage } from '../../../coordinator/zab/messages.ts';
import { epochOf } from '../../../coordinator/zab/zxid.ts';
import { drainPeers } from '../../helpers/peer-drain.ts';

const SYNC_LIMIT = 8;

/** Three peers on a perfect, synchronous network whose links can be cut (both ends hear `disconnected`, as over TCP). */
class Bench {
  readonly peers = new Map<number, ZabPeer>();
  private readonly cut = new Set<string>();
  /** Called after every tick of every peer, and after each drain: the invariant a scenario holds throughout. */
  check: () => void = () => undefined;

  constructor() {
    for (const id of [1, 2, 3]) this.peers.set(id, new ZabPeer({ id, members: [1, 2, 3], initLimit: 20, syncLimit: SYNC_LIMIT }, { acceptedEpoch: 0, currentEpoch: 0, log: [] }));
  }

  peer(id: number): ZabPeer {
    return this.peers.get(id) as ZabPeer;
  }

  private key(a: number, b: number): string {
    return a < b ? `${a}-${b}` : `${b}-${a}`;
  }

  /** `silently`: the link drops what it carries and neither end is told (a partition TCP has not noticed). */
  cutLink(a: number, b: number, silently = false): void {
    this.cut.add(this.key(a, b));
    if (silently) return;
    this.peer(a).step({ kind: 'disconnected', from: b, to: a });
    this.peer(b).step({ kind: 'disconnected', from: a, to: b });
    this.drain();
  }

  heal(): void {
    this.cut.clear();
  }

  /** Hands `m` to its addressee, then lets everything settle. */
  deliverNow(m: ZabMessage): void {
    this.peer(m.to).step(m);
    this.drain();
  }

  run(ticks: number): void {
    for (let i = 0; i < ticks; i++) {
      for (const p of this.peers.values()) p.tick();
      this.drain();
    }
  }

  /** Runs until `done()` holds; fails after `ticks`. */
  runUntil(done: () => boolean, ticks: number, what: string): void {
    for (let i = 0; i < ticks && !done(); i++) this.run(1);
    if (!done()) throw new Error(`${what}: ${this.describe()}`);
  }

  private drain(): void {
    drainPeers(this.peers, (m) => this.deliver(m), () => this.check());
  }

  private deliver(m: ZabMessage): void {
    if (this.cut.has(this.key(m.from, m.to))) return;
    this.peer(m.to).step(m);
  }

  leader(): ZabPeer | undefined {
    return [...this.peers.values()].find((p) => p.state === 'leading' && p.established);
  }

  describe(): string {
    return [...this.peers.values()].map((p) => `${p.id}:${p.state}${p.isServing ? '*' : ''} e${p.epoch} last=${p.lastZxid}`).join(' ');
  }
}

function settled(b: Bench): ZabPeer {
  b.runUntil(() => b.leader() !== undefined && [...b.peers.values()].every((p) => p.isServing), 500, 'no stable leader');
  return b.leader() as ZabPeer;
}

describe('a follower of the current epoch reconnecting', () => {
  const modes = {
    isolated: 'cut from both others',
    bridge: 'cut from the leader only',
    silent: 'cut from both others without either end noticing, so the leader still counts it synced',
  } as const;
  for (const [mode, what] of Object.entries(modes)) {
    it(`does not make the established leader stand down (${mode}: ${what})`, () => {
      const b = new Bench();
      const leader = settled(b);
      // A write in this epoch, so the follower's log is of the leader's epoch too.
      expect(leader.propose(Buffer.from('before'))).not.toBeNull();
      b.run(3);
      const epoch = leader.epoch;
      const follower = [...b.peers.values()].find((p) => p !== leader) as ZabPeer;
      const other = [...b.peers.values()].find((p) => p !== leader && p !== follower) as ZabPeer;
      b.check = () => {
        if (leader.state !== 'leading' || !leader.established || leader.epoch !== epoch) throw new Error(`the leader left service: ${b.describe()}`);
      };

      const silently = mode === 'silent';
      b.cutLink(follower.id, leader.id, silently);
      if (mode !== 'bridge') b.cutLink(follower.id, other.id, silently);
      // Long enough for any timeout to fire on either side; the leader keeps its quorum.
      b.run(3 * SYNC_LIMIT);
      expect(follower.isServing).toBe(false);
      const during = leader.propose(Buffer.from('during'));
      expect(during).not.toBeNull();
      b.run(2);
      expect(leader.committed).toBe(during);

      b.heal();
      b.runUntil(() => follower.isServing, 50, 'the follower did not rejoin');
      expect(follower.leader).toBe(leader.id);
      expect(follower.epoch).toBe(epoch);
      // It caught up by the sync, and follows new writes.
      const after = leader.propose(Buffer.from('after'));
      expect(after).not.toBeNull();
      expect(epochOf(after as number)).toBe(epoch);
      b.run(2);
      for (const p of b.peers.values()) expect(p.committed).toBe(after);
    });
  }

  it('a member that promised a later epoch still brings about a new election', () => {
    // The other half of the rule, kept: a voter whose acceptedEpoch is above
    // the leader's can never follow it, so only a new epoch can bring it back.
    const b = new Bench();
    const leader = settled(b);
    const epoch = leader.epoch;
    const follower = [...b.peers.values()].find((p) => p !== leader) as ZabPeer;
    leader.step({ kind: 'followerInfo', from: follower.id, to: leader.id, acceptedEpoch: epoch + 1, lastZxid: follower.lastZxid });
    expect(leader.state).toBe('looking');
  });
});

describe('a second sync from the leader of this epoch', () => {
  /**
   * A follower may take a sync meant for an earlier attempt of its own (a
   * Ready in flight across a reconnect carries one attempt's messages into
   * the next), while the leader, which restarted this learner on a later
   * FOLLOWERINFO, sends it nothing more until its next sync. That sync finds
   * the follower already in broadcast.
   */
  function followerMissing(n: number): { b: Bench; leader: ZabPeer; follower: ZabPeer; missedFrom: number } {
    const b = new Bench();
    const leader = settled(b);
    const follower = [...b.peers.values()].find((p) => p !== leader) as ZabPeer;
    leader.propose(Buffer.from('seen'));
    b.run(2);
    const missedFrom = follower.lastZxid + 1;
    // Proposals the leader sent while it counted the follower as restarting: lost to it.
    b.cutLink(leader.id, follower.id, true);
    for (let i = 0; i < n; i++) leader.propose(Buffer.from(`missed ${i}`));
    b.run(2);
    b.heal();
    return { b, leader, follower, missedFrom };
  }

  it('fills in the proposals it missed, and follows on', () => {
    const { b, leader, follower, missedFrom } = followerMissing(3);
    const before = follower.lastZxid;
    const entries = leader.committedEntries();
    b.deliverNow({ kind: 'sync', from: leader.id, to: follower.id, epoch: leader.epoch, truncateTo: null, snapshot: null, entries, commitZxid: leader.committed });
    expect(follower.lastZxid).toBe(leader.lastZxid);
    expect(follower.lastZxid).toBeGreaterThan(before);
    expect(follower.state).toBe('following');
    // The next proposal follows on without a gap.
    const next = leader.propose(Buffer.from('next')) as number;
    b.run(2);
    expect(follower.committed).toBe(next);
    expect(missedFrom).toBeLessThan(next);
  });

  it('starts over when the sync does not reach back to its last zxid', () => {
    const { b, leader, follower, missedFrom } = followerMissing(3);
    const entries = leader.committedEntries().filter((e) => e.zxid > missedFrom);
    const epoch = leader.epoch;
    follower.step({ kind: 'sync', from: leader.id, to: follower.id, epoch, truncateTo: null, snapshot: null, entries, commitZxid: leader.committed });
    expect(follower.state).toBe('looking');
    expect(follower.lastZxid).toBeLessThan(missedFrom);
    // It rejoins by a fresh sync, the leader staying where it is.
    b.runUntil(() => follower.isServing && follower.lastZxid === leader.lastZxid, 100, 'the follower did not rejoin');
    expect(leader.state).toBe('leading');
    expect(leader.epoch).toBe(epoch);
  });
});
