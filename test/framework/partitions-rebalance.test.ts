/**
 * Partition members on real servers: five members (separate sessions) join
 * and leave repeatedly; after each settle every partition has exactly one
 * owner node, owners match the MetaQ ranges and counts differ by at most
 * one; at no moment does a partition's handler run in two members (every
 * handler start and stop is stamped from one counter, and per partition the
 * intervals must not overlap). One member is cut off (SUSPENDED, then its
 * session expires) to check the handler stops before anyone else claims.
 */
import { expect, it } from 'vitest';
import type { Coordination } from '../../shared/client/coordination.ts';
import type { Assignment, JobSpec } from '../../shared/jobs/job-types.ts';
import { layout } from '../../shared/jobs/layout.ts';
import { silentLogger } from '../../shared/log.ts';
import { assignRanges, ownersOf } from '../../worker/partitions/assign.ts';
import type { OwnerRecord } from '../../worker/partitions/job-partition-member.ts';
import type { PartitionHost, PartitionRunOptions } from '../../worker/partitions/partition-host.ts';
import { startPartitionMember, type PartitionMembership } from '../../worker/partitions/partition-member.ts';
import { appendPartitionLog, readPartitionLog } from '../../worker/partitions/partition-log.ts';
import { describeOnBackends, until, type BackendEnv } from '../helpers/backends.ts';

const JOB = 'feed';
const P = 8;

const spec: JobSpec = { v: 1, name: JOB, retries: 0, concurrency: 1, priority: 5, partitions: P, history: { keep: 10, maxAgeMs: 60_000 } };

interface Interval {
  partition: number;
  worker: string;
  start: number;
  stop: number | undefined;
}

/** One counter for every start and stop, so ordering is exact within the test process. */
class HandlerTimeline {
  private tick = 0;
  readonly intervals: Interval[] = [];

  host(workerId: string, client: Coordination): PartitionHost {
    return {
      workerId,
      client,
      logger: silentLogger,
      partitionedJobs: () => [spec],
      runPartition: (opts: PartitionRunOptions) => this.run(workerId, opts),
    };
  }

  private async run(worker: string, opts: PartitionRunOptions): Promise<{ ok: boolean }> {
    const iv: Interval = { partition: opts.partition, worker, start: ++this.tick, stop: undefined };
    this.intervals.push(iv);
    // A consumer: works until its signal aborts.
    await new Promise<void>((resolve) => {
      if (opts.signal.aborted) resolve();
      else opts.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    iv.stop = ++this.tick;
    return { ok: true };
  }

  /** Per partition, no interval starts before the previous one stopped. */
  overlaps(): string[] {
    const bad: string[] = [];
    for (let p = 0; p < P; p++) {
      const ivs = this.intervals.filter((x) => x.partition === p).sort((a, b) => a.start - b.start);
      for (let i = 1; i < ivs.length; i++) {
        const prev = ivs[i - 1] as Interval;
        const cur = ivs[i] as Interval;
        if (prev.stop === undefined || prev.stop > cur.start) bad.push(`p${p}: ${prev.worker}[${prev.start},${prev.stop}] overlaps ${cur.worker}[${cur.start},…]`);
      }
    }
    return bad;
  }

  running(): Interval[] {
    return this.intervals.filter((x) => x.stop === undefined);
  }
}

interface Live {
  worker: string;
  client: Coordination;
  membership: PartitionMembership;
}

async function join(env: BackendEnv, timeline: HandlerTimeline, worker: string, client?: Coordination): Promise<Live> {
  const c = client ?? (await env.client({ sessionTimeoutMs: 4000 }));
  const membership = await startPartitionMember(timeline.host(worker, c), { restartDelayMs: 200 });
  return { worker, client: c, membership };
}

/** Settled: owner nodes, the published assignment and the running handlers all agree with the ranges of the live members. */
async function settled(observer: Coordination, timeline: HandlerTimeline, live: Live[]): Promise<void> {
  await until(
    `partitions settled over ${live.length} members`,
    async () => {
      const members = live.map((l) => ({ member: l.membership.members.get(JOB)?.member ?? '', worker: l.worker }));
      if (members.some((m) => !m.member)) return false;
      const names = await observer.children(layout.partitionMembers(JOB));
      if (names.length !== live.length) return false;
      const expected = ownersOf(assignRanges(members, P), P);
      const owners = await observer.children(layout.partitionOwners(JOB));
      if (owners.length !== P) return false;
      for (let p = 0; p < P; p++) {
        const rec = JSON.parse((await observer.get(layout.partitionOwner(JOB, p))).data.toString()) as OwnerRecord;
        if (rec.member !== expected[p]) return false;
      }
      const a = JSON.parse((await observer.get(layout.partitionAssignment(JOB))).data.toString()) as Assignment;
      if (a.ranges.length !== live.length) return false;
      const running = timeline.running();
      if (running.length !== P) return false;
      for (const iv of running) {
        const owner = members.find((m) => m.member === expected[iv.partition]);
        if (owner?.worker !== iv.worker) return false;
      }
      return true;
    },
    { timeoutMs: 30_000 },
  );
  const counts = live.map((l) => l.membership.members.get(JOB)?.owned().length ?? 0);
  expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
  expect(counts.reduce((a, b) => a + b, 0)).toBe(P);
  expect(timeline.overlaps()).toEqual([]);
}

describeOnBackends('partitions: rebalance', (env) => {
  it('five members join and leave repeatedly: one owner per partition, balanced, never two handlers at once', async () => {
    const timeline = new HandlerTimeline();
    const observer = await env.client();
    const live: Live[] = [];
    let n = 0;
    env.defer(async () => {
      for (const l of live) await l.membership.close();
    });
    for (let i = 0; i < 5; i++) live.push(await join(env, timeline, `w-${++n}`));
    await settled(observer, timeline, live);

    // Leave from the middle, the front and the back; join in between.
    const script: ('leave-front' | 'leave-middle' | 'leave-back' | 'join')[] = ['leave-middle', 'join', 'leave-front', 'leave-back', 'join', 'join', 'leave-front', 'join'];
    for (const step of script) {
      if (step === 'join') {
        live.push(await join(env, timeline, `w-${++n}`));
      } else {
        const idx = step === 'leave-front' ? 0 : step === 'leave-back' ? live.length - 1 : Math.floor(live.length / 2);
        const [gone] = live.splice(idx, 1);
        await gone?.membership.close();
        await gone?.client.close();
      }
      await settled(observer, timeline, live);
    }
    expect(live.length).toBe(5);

    const log = await readPartitionLog(observer, JOB);
    expect(log.length).toBeGreaterThanOrEqual(script.length);
    expect(log.every((e) => e.reason.length > 0)).toBe(true);
    const generations = log.map((e) => e.generation);
    expect([...generations].sort((a, b) => a - b)).toEqual(generations);
    expect(new Set(generations).size).toBe(generations.length);
    expect(log.some((e) => e.reason.includes('joined'))).toBe(true);
    expect(log.some((e) => e.reason.includes('left'))).toBe(true);
  });

  it('a member cut off stops its handlers on SUSPENDED, before its session expires and others claim; it rejoins last when the network heals', async () => {
    const timeline = new HandlerTimeline();
    const observer = await env.client();
    const live: Live[] = [];
    env.defer(async () => {
      for (const l of live) await l.membership.close();
    });
    live.push(await join(env, timeline, 'w-a'));
    const { client: cutClient, proxy } = await env.proxied({ sessionTimeoutMs: 2000 });
    const cut = await join(env, timeline, 'w-cut', cutClient);
    live.push(await join(env, timeline, 'w-b'));
    await settled(observer, timeline, [...live.slice(0, 1), cut, ...live.slice(1)]);
    const cutOwned = cut.membership.members.get(JOB)?.owned() ?? [];
    expect(cutOwned.length).toBeGreaterThan(0);

    proxy.cut();
    await settled(observer, timeline, live);
    // Every partition the cut member had moved; its handlers stopped before the new ones began.
    for (const p of cutOwned) {
      const ivs = timeline.intervals.filter((x) => x.partition === p);
      expect(ivs.some((x) => x.worker === 'w-cut' && x.stop !== undefined)).toBe(true);
      expect(ivs.some((x) => x.worker !== 'w-cut' && x.stop === undefined)).toBe(true);
    }
    expect(timeline.overlaps()).toEqual([]);

    // The network heals: the client makes a new session (the old one expired) and the member rejoins, last in join order.
    const before = cut.membership.members.get(JOB)?.member;
    proxy.restore();
    await until('the cut member rejoins', () => {
      const now = cut.membership.members.get(JOB)?.member;
      return now !== null && now !== undefined && now !== before;
    });
    await settled(observer, timeline, [...live, cut]);
    const a = JSON.parse((await observer.get(layout.partitionAssignment(JOB))).data.toString()) as Assignment;
    expect(a.ranges[a.ranges.length - 1]?.worker).toBe('w-cut');
    expect(timeline.overlaps()).toEqual([]);
    await cut.membership.close();
  });

  it('the rebalance log keeps only the newest entries', async () => {
    const client = await env.client();
    await client.ensurePath(layout.partitionLog(JOB));
    for (let g = 1; g <= 12; g++) await appendPartitionLog(client, JOB, { v: 1, generation: g, reason: `change ${g}`, moves: [], by: 'w-x', at: g }, 5);
    expect((await readPartitionLog(client, JOB)).map((e) => e.generation)).toEqual([8, 9, 10, 11, 12]);
  });

  it('a short cut (the session survives): handlers stop on SUSPENDED and resume on the same owner nodes', async () => {
    const timeline = new HandlerTimeline();
    const observer = await env.client();
    const other = await join(env, timeline, 'w-other');
    const { client: cutClient, proxy } = await env.proxied({ sessionTimeoutMs: 8000 });
    const cut = await join(env, timeline, 'w-cut', cutClient);
    env.defer(async () => {
      await cut.membership.close();
      await other.membership.close();
    });
    await settled(observer, timeline, [other, cut]);
    const mine = cut.membership.members.get(JOB)?.owned() ?? [];
    const ownersBefore = await Promise.all(mine.map(async (p) => (await observer.exists(layout.partitionOwner(JOB, p)))?.czxid));
    proxy.cut();
    await until('the cut member stops its handlers', () => timeline.running().every((iv) => iv.worker !== 'w-cut'), { timeoutMs: 10_000 });
    proxy.restore();
    await settled(observer, timeline, [other, cut]);
    // The same owner nodes (same czxid): nobody else claimed them meanwhile.
    const ownersAfter = await Promise.all(mine.map(async (p) => (await observer.exists(layout.partitionOwner(JOB, p)))?.czxid));
    expect(ownersAfter).toEqual(ownersBefore);
    expect(timeline.intervals.filter((iv) => iv.worker === 'w-cut').length).toBe(2 * mine.length);
    expect(timeline.overlaps()).toEqual([]);
  });
});
