/**
 * How a leader synchronizes a follower once its log is compacted: DIFF when
 * the follower's last zxid is still in the log, SNAP when it is behind the
 * log's base, and a queued SNAP follows a later compaction.
 */
import { describe, it, expect } from 'vitest';
import { ZabPeer, ZabInvariantError } from '../../coordinator/zab/peer.ts';
import type { Entry, ZabMessage } from '../../coordinator/zab/messages.ts';

type Sync = Extract<ZabMessage, { kind: 'sync' }>;

/** Peers on a perfect network; `up` decides who receives. Returns the sync messages sent. */
class Bench {
  readonly peers = new Map<number, ZabPeer>();
  readonly up = new Set<number>();
  readonly syncs: Sync[] = [];
  readonly installed = new Map<number, number>();

  boot(id: number, log: Entry[] = [], snapshotZxid = 0): ZabPeer {
    const p = new ZabPeer({ id, members: [1, 2, 3], initLimit: 20, syncLimit: 8 }, { acceptedEpoch: 0, currentEpoch: 0, snapshotZxid, log });
    this.peers.set(id, p);
    this.up.add(id);
    return p;
  }

  /** Ticks and drains until nothing moves (bounded). */
  run(steps: number): void {
    for (let i = 0; i < steps; i++) {
      for (const id of this.up) this.peers.get(id)?.tick();
      for (let round = 0; round < 50; round++) {
        let moved = false;
        for (const id of this.up) {
          const p = this.peers.get(id) as ZabPeer;
          while (p.hasReady()) {
            moved = true;
            const r = p.ready();
            if (r.persist.snapshot) this.installed.set(id, r.persist.snapshot.zxid);
            p.advance(r);
            for (const m of r.messages) this.deliver(m);
          }
        }
        if (!moved) break;
      }
    }
  }

  private deliver(m: ZabMessage): void {
    if (!this.up.has(m.to)) return;
    let msg = m;
    if (m.kind === 'sync') {
      this.syncs.push(m);
      // The host attaches the bytes of the snapshot the peer named.
      if (m.snapshot && m.snapshot.data === null) msg = { ...m, snapshot: { zxid: m.snapshot.zxid, data: Buffer.from('snapshot') } };
    }
    this.peers.get(m.to)?.step(msg);
  }

  leader(): ZabPeer {
    const l = [...this.peers.values()].find((p) => this.up.has(p.id) && p.state === 'leading' && p.established);
    if (!l) throw new Error('no leader');
    return l;
  }
}

function writes(b: Bench, n: number): number[] {
  const zxids: number[] = [];
  for (let i = 0; i < n; i++) {
    const z = b.leader().propose(Buffer.from(`w${i}`));
    if (z === null) throw new Error('proposal refused');
    zxids.push(z);
    b.run(1);
  }
  b.run(5);
  return zxids;
}

describe('synchronization over a compacted log', () => {
  it('a follower behind the log base gets SNAP, then the entries above it', () => {
    const b = new Bench();
    b.boot(1);
    b.boot(2);
    b.run(30);
    const zxids = writes(b, 10);
    const leader = b.leader();
    expect(leader.committed).toBe(zxids[9]);
    leader.compact(zxids[6] as number);
    expect(leader.snapshotZxid).toBe(zxids[6]);
    expect(leader.committedEntries().map((e) => e.zxid)).toEqual(zxids.slice(7));

    const before = b.syncs.length;
    const late = b.boot(3);
    b.run(30);
    const sync = b.syncs.slice(before).find((s) => s.to === 3) as Sync;
    expect(sync.snapshot).toEqual({ zxid: zxids[6], data: null });
    expect(sync.entries.map((e) => e.zxid)).toEqual(zxids.slice(7));
    expect(b.installed.get(3)).toBe(zxids[6]);
    expect(late.isServing).toBe(true);
    expect(late.lastZxid).toBe(leader.lastZxid);
    expect(late.committed).toBe(leader.committed);
  });

  it('a follower whose last zxid is still in the log gets a DIFF', () => {
    const b = new Bench();
    b.boot(1);
    b.boot(2);
    b.boot(3);
    b.run(30);
    const zxids = writes(b, 6);
    const follower = [...b.peers.values()].find((p) => p.state === 'following') as ZabPeer;
    b.up.delete(follower.id);
    writes(b, 4);
    b.leader().compact(zxids[3] as number);
    const before = b.syncs.length;
    // It comes back with its log (up to zxids[5], above the base).
    const back = b.boot(follower.id, zxids.map((zxid, i) => ({ zxid, data: Buffer.from(`w${i}`) })));
    b.run(40);
    const sync = b.syncs.slice(before).find((s) => s.to === follower.id) as Sync;
    expect(sync.snapshot).toBeNull();
    expect(sync.truncateTo).toBeNull();
    expect(sync.entries).toHaveLength(4);
    expect(back.lastZxid).toBe(b.leader().lastZxid);
  });

  it('compaction re-points a SNAP not yet handed out, and refuses to pass the commit point', () => {
    const b = new Bench();
    b.boot(1);
    b.boot(2);
    b.run(30);
    const zxids = writes(b, 8);
    const leader = b.leader();
    leader.compact(zxids[2] as number);
    b.boot(3);
    // Deliver by hand: the leader queues the SNAP, then compacts before handing it out.
    const p3 = b.peers.get(3) as ZabPeer;
    b.up.delete(leader.id);
    p3.tick();
    const fi = p3.hasReady() ? p3.ready() : null;
    expect(fi).not.toBeNull();
    p3.advance(fi as ReturnType<ZabPeer['ready']>);
    // Votes and FOLLOWERINFO go to the leader directly; its answers stay queued.
    for (let round = 0; round < 20 && !(leader.hasReady() && peek(leader).some((m) => m.kind === 'sync')); round++) {
      for (const m of (fi as ReturnType<ZabPeer['ready']>).messages) if (m.to === leader.id) leader.step(m);
      p3.tick();
      while (p3.hasReady()) {
        const r = p3.ready();
        p3.advance(r);
        for (const m of r.messages) if (m.to === leader.id) leader.step(m);
      }
      while (leader.hasReady() && !peek(leader).some((m) => m.kind === 'sync')) {
        const r = leader.ready();
        leader.advance(r);
        for (const m of r.messages) if (m.to === 3) p3.step(m);
      }
    }
    expect(peek(leader).find((m) => m.kind === 'sync')).toMatchObject({ snapshot: { zxid: zxids[2] } });
    leader.compact(zxids[5] as number);
    const r = leader.ready();
    const sync = r.messages.find((m): m is Sync => m.kind === 'sync') as Sync;
    expect(sync.snapshot).toEqual({ zxid: zxids[5], data: null });
    expect(sync.entries.map((e) => e.zxid)).toEqual(zxids.slice(6));
    leader.advance(r);
    expect(() => leader.compact(leader.lastZxid + 1)).toThrow(ZabInvariantError);
  });
});

/** The messages the peer would hand out next (read through its private queue, for this test only). */
function peek(p: ZabPeer): ZabMessage[] {
  return (p as unknown as { out: ZabMessage[] }).out;
}
