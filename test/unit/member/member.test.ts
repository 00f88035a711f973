/**
 * The one Ready loop (coordinator/member/member.ts) with promise-based
 * disks, as in production: persist before send, messages to a member whose
 * connection broke while the Ready was being persisted dropped (votes kept),
 * roles derived from the peer. The simulator runs the same class under
 * seeded faults (test/sim/).
 */
import { describe, it, expect } from 'vitest';
import { Member, silentMemberLog, type Clock, type Disk, type MemberRole, type WireMessage } from '../../../coordinator/member/member.ts';
import type { PersistWork, Ready } from '../../../coordinator/zab/messages.ts';

class HeldDisk implements Disk {
  hold = false;
  outstanding = 0;
  persisted: PersistWork[] = [];
  private released: (() => void)[] = [];
  constructor(private readonly events: string[], private readonly id: number) {}
  persist(work: PersistWork): Promise<void> {
    this.outstanding++;
    this.events.push(`${this.id} persist`);
    return new Promise((resolve) => {
      const done = (): void => {
        this.outstanding--;
        this.persisted.push(work);
        this.events.push(`${this.id} durable`);
        resolve();
      };
      if (this.hold) this.released.push(done);
      else setImmediate(done);
    });
  }
  release(): void {
    this.hold = false;
    for (const d of this.released.splice(0)) d();
  }
  readSnapshot(): Promise<Buffer | null> {
    return Promise.resolve(null);
  }
}

class ManualClock implements Clock {
  private readonly ticks: (() => void)[] = [];
  now(): number {
    return 0;
  }
  every(_ms: number, fn: () => void): () => void {
    this.ticks.push(fn);
    return () => this.ticks.splice(this.ticks.indexOf(fn), 1);
  }
  tick(): void {
    for (const t of [...this.ticks]) t();
  }
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

function ensemble(): { members: Map<number, Member>; disks: Map<number, HeldDisk>; sent: WireMessage[]; events: string[]; applied: Map<number, number[]>; roles: Map<number, MemberRole>; clock: ManualClock; settle: (n?: number) => Promise<void> } {
  const events: string[] = [];
  const sent: WireMessage[] = [];
  const members = new Map<number, Member>();
  const disks = new Map<number, HeldDisk>();
  const applied = new Map<number, number[]>();
  const roles = new Map<number, MemberRole>();
  const clock = new ManualClock();
  for (const id of [1, 2, 3]) {
    const disk = new HeldDisk(events, id);
    disks.set(id, disk);
    applied.set(id, []);
    roles.set(id, 'looking');
    const m = new Member({
      zab: { id, members: [1, 2, 3], initLimit: 20, syncLimit: 8 },
      persisted: { acceptedEpoch: 0, currentEpoch: 0, log: [] },
      disk,
      links: {
        send: (msg) => {
          // A message leaves only once everything its member persisted so far is durable.
          expect(disk.outstanding, `member ${id} sent ${msg.kind} before its Ready was durable`).toBe(0);
          events.push(`${id} send ${msg.kind}>${msg.to}`);
          sent.push(msg);
          setImmediate(() => members.get(msg.to)?.receive(msg));
        },
      },
      clock,
      tickMs: 1,
      log: silentMemberLog,
      replica: {
        apply: (r: Ready) => {
          for (const e of r.committed) applied.get(id)?.push(e.zxid);
        },
        roleChanged: (role) => roles.set(id, role),
      },
    });
    members.set(id, m);
    m.start();
  }
  const settle = async (n = 60): Promise<void> => {
    for (let i = 0; i < n; i++) {
      clock.tick();
      for (let k = 0; k < 5; k++) await turn();
    }
  };
  return { members, disks, sent, events, applied, roles, clock, settle };
}

describe('Member: the one Ready loop', () => {
  it('elects a leader, persists before it sends, and applies a write everywhere in order', async () => {
    const e = ensemble();
    await e.settle();
    const leaders = [...e.roles].filter(([, r]) => r === 'leader').map(([id]) => id);
    expect(leaders).toHaveLength(1);
    expect([...e.roles.values()].filter((r) => r === 'follower')).toHaveLength(2);
    const leader = e.members.get(leaders[0] as number) as Member;
    const z = leader.propose(Buffer.from('w1'));
    expect(z).not.toBeNull();
    await e.settle(10);
    for (const id of [1, 2, 3]) expect(e.applied.get(id)).toContain(z);
    for (const m of e.members.values()) await m.stop();
  });

  it("drops a Ready's messages to a member whose connection broke while it was being persisted", async () => {
    const e = ensemble();
    await e.settle();
    const leaderId = [...e.roles].find(([, r]) => r === 'leader')?.[0] as number;
    const [a, b] = [1, 2, 3].filter((id) => id !== leaderId) as [number, number];
    const leader = e.members.get(leaderId) as Member;
    const disk = e.disks.get(leaderId) as HeldDisk;
    disk.hold = true;
    const before = e.sent.length;
    const z = leader.propose(Buffer.from('w2'));
    await turn();
    expect(disk.outstanding).toBe(1);
    // The link to `a` breaks while the proposal's Ready is on its way to disk.
    leader.disconnected(a);
    disk.release();
    for (let k = 0; k < 5; k++) await turn();
    const proposals = e.sent.slice(before).filter((m) => m.kind === 'proposal' && m.entry.zxid === z && m.to !== leaderId);
    expect(proposals.map((m) => `${m.from}>${m.to}`), JSON.stringify([...e.roles])).toEqual([`${leaderId}>${b}`]);
    for (const m of e.members.values()) await m.stop();
  });

  it('runs chores between Readies and refuses them once stopped', async () => {
    const e = ensemble();
    await e.settle(5);
    const m = e.members.get(1) as Member;
    const d = e.disks.get(1) as HeldDisk;
    let ranWithNothingOutstanding = false;
    await m.inReadyLoop(() => {
      ranWithNothingOutstanding = d.outstanding === 0;
    });
    expect(ranWithNothingOutstanding).toBe(true);
    for (const x of e.members.values()) await x.stop();
    await expect(m.inReadyLoop(() => {})).rejects.toThrow(/stopped/);
  });
});
