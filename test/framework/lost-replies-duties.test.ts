/**
 * The worker's duties whose write has its reply lost after the server
 * applied it (a TCP proxy delivers the request and drops the reply with the
 * connection): a run's progress, the scheduler's cron fire, the partition
 * member's assignment. As in lost-replies-jobs.test.ts: the writer is told
 * the truth, nothing is doubled, nothing is lost — on both backends, through
 * the client's write witness (docs/adr/0009-write-witness.md).
 *
 * Each lost reply is armed on the write itself (its opcode, and a path or
 * data it carries), as a multi or as a plain setData: the tests say what the
 * duty must get right, not how the client sends it.
 */
import { EventEmitter, once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino, type Logger } from 'pino';
import { expect, it } from 'vitest';
import type { Coordination } from '../../shared/client/coordination.ts';
import { defineJob, type Job } from '../../shared/jobs/define-job.ts';
import type { RunRecord } from '../../shared/jobs/job-types.ts';
import { layout } from '../../shared/jobs/layout.ts';
import { decodeRecord } from '../../shared/jobs/run-codec.ts';
import { assignRanges, ownersOf } from '../../worker/partitions/assign.ts';
import { readAssignment } from '../../worker/partitions/assignment-store.ts';
import type { OwnerRecord } from '../../worker/partitions/job-partition-member.ts';
import { readPartitionLog } from '../../worker/partitions/partition-log.ts';
import { startWorker, type Worker } from '../../worker/runtime.ts';
import { readFires, type FireRecord } from '../../worker/scheduler/schedule-store.ts';
import { describeOnBackends, until } from '../helpers/backends.ts';
import { finished, waitForRun } from './jobs-waits.ts';
import { startProxiedWorker } from '../helpers/proxied-worker.ts';

const SET_DATA = 5;
const MULTI = 14;
/** A conditional write travels as a multi (with its witness), an unconditional one as itself: arm both. */
const WRITE_OPS = [SET_DATA, MULTI] as const;

const bus = new EventEmitter();
bus.setMaxListeners(50);

/** Reports progress and a log line, then more progress, each step on the test's signal. */
const reporting = defineJob<string, string>({
  name: 'reporting',
  run: async (ctx, s) => {
    bus.emit('started', ctx.runId);
    await once(bus, `go-${ctx.runId}`);
    ctx.progress(50, 'halfway-mark');
    ctx.log.info('past the middle');
    await once(bus, `go2-${ctx.runId}`);
    ctx.progress(90, 'nearly-there');
    await once(bus, `go3-${ctx.runId}`);
    return `${s}!`;
  },
});

/** Every second; each fire's run just returns. */
const ticking = defineJob<null, string>({ name: 'ticking', schedule: '* * * * * *', run: (ctx) => `ran ${ctx.runId}` });

const PARTITIONS = 4;

/** Every partition loop this process ran: started and stopped on one counter, so overlaps are exact. */
interface LoopInterval {
  partition: number;
  fence: string;
  start: number;
  stop: number | undefined;
}
const loops: LoopInterval[] = [];
let loopTick = 0;
/** Loops started while this is set take a second to stop after their signal (see the assignment test). */
let slowStop = false;

const looping = defineJob<null, null>({
  name: 'looping',
  partitions: PARTITIONS,
  run: async (ctx) => {
    const slow = slowStop;
    const iv: LoopInterval = { partition: ctx.partition as number, fence: ctx.fence, start: ++loopTick, stop: undefined };
    loops.push(iv);
    await new Promise<void>((resolve) => {
      if (ctx.signal.aborted) resolve();
      else ctx.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    if (slow) await sleep(1_000);
    iv.stop = ++loopTick;
    return null;
  },
});

function loopOverlaps(): string[] {
  const bad: string[] = [];
  for (let p = 0; p < PARTITIONS; p++) {
    const ivs = loops.filter((x) => x.partition === p).sort((a, b) => a.start - b.start);
    for (let i = 1; i < ivs.length; i++) {
      const prev = ivs[i - 1] as LoopInterval;
      const cur = ivs[i] as LoopInterval;
      if (prev.stop === undefined || prev.stop > cur.start) bad.push(`p${p}: ${prev.fence}[${prev.start},${prev.stop}] overlaps ${cur.fence}[${cur.start},…]`);
    }
  }
  return bad;
}

/** A logger whose lines the test reads back. */
function capturedLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { logger, lines };
}

/** Resolves with `p`, or rejects as soon as the worker abandons `runId` (fenced or lost). */
function unlessAbandoned<T>(w: Worker, runId: string, p: Promise<T>): Promise<T> {
  let off: () => void = () => {};
  const abandoned = new Promise<never>((_resolve, reject) => {
    off = w.onEvent((e) => {
      if (e.type === 'abandoned' && e.runId === runId) reject(new Error(`the worker abandoned ${runId}: ${e.code}`));
    });
  });
  return Promise.race([p, abandoned]).finally(off);
}

async function recordAt(client: Coordination, job: string, runId: string): Promise<{ record: RunRecord; version: number }> {
  const { data, stat } = await client.get(layout.run(job, runId));
  return { record: decodeRecord(data, runId), version: stat.version };
}

describeOnBackends('worker duties whose write reply is lost', (env) => {
  it("a run's progress: not taken as fenced, later progress lands, the run finishes once with its result and progress", async () => {
    const producer = await env.client();
    const { worker: w, proxy, events } = await startProxiedWorker(env, [reporting as unknown as Job]);
    const started = once(bus, 'started');
    const runId = await reporting.enqueue(producer, 'p');
    expect((await started)[0]).toBe(runId);

    // The first progress write (it carries its message) is applied; its reply is lost.
    const lost = proxy.loseReplyTo(WRITE_OPS, (req) => req.includes('halfway-mark'));
    bus.emit(`go-${runId}`);
    expect(await lost).toBe(0);
    // (The producer may read from another member: wait until it has applied that write.)
    await waitForRun(producer, 'reporting', runId, (r) => r.progress?.message === 'halfway-mark', { what: 'the first progress write' });
    const first = await recordAt(producer, 'reporting', runId);
    expect(first.record).toMatchObject({ state: 'active', progress: { pct: 50, message: 'halfway-mark' } });
    expect(first.record.logs?.map((l) => l.msg)).toContain('past the middle');

    // The worker learnt that write landed (its version moved): the next progress lands on top, once.
    bus.emit(`go2-${runId}`);
    const second = await unlessAbandoned(
      w,
      runId,
      waitForRun(producer, 'reporting', runId, (r) => r.progress?.pct === 90, { what: 'the second progress write' }),
    );
    expect(second.state).toBe('active');
    expect((await recordAt(producer, 'reporting', runId)).version).toBe(first.version + 1);

    bus.emit(`go3-${runId}`);
    const rec = await unlessAbandoned(w, runId, waitForRun(producer, 'reporting', runId, finished));
    expect(rec).toMatchObject({ state: 'succeeded', result: 'p!', attempt: 1, progress: { pct: 90, message: 'nearly-there' } });
    expect(rec.logs?.map((l) => l.msg)).toEqual(['past the middle']);
    expect((await recordAt(producer, 'reporting', runId)).version).toBe(first.version + 2);
    await new Promise<void>((resolve) => (events.some((e) => e.type === 'finished') ? resolve() : w.onEvent((e) => e.type === 'finished' && resolve())));
    expect(events.filter((e) => e.type === 'abandoned')).toEqual([]);
    expect(events.filter((e) => e.type === 'finished' && e.runId === runId)).toHaveLength(1);
    expect(events.filter((e) => e.type === 'claimed' && e.runId === runId)).toHaveLength(1);
  });

  it('a cron fire: that tick fires exactly once (one run, its fire record), the scheduler knows it fired and goes on firing', async () => {
    const observer = await env.client();
    const { proxy } = await env.proxied();
    const { logger, lines } = capturedLogger();
    // The first fire multi of the job (it creates fires/f-<T>); T is read off the request.
    let fireTime = 0;
    const fireNode = new RegExp(`${env.root()}/schedules/ticking/fires/f-(\\d{13})`);
    const lost = proxy.loseReplyTo(WRITE_OPS, (req) => {
      const m = fireNode.exec(req.toString('latin1'));
      if (m?.[1]) fireTime = Number(m[1]);
      return m !== null;
    });
    const w = await startWorker({ connect: proxy.address, root: env.root(), jobs: [ticking as unknown as Job], schedule: true, sessionTimeoutMs: 6_000, logger });
    env.defer(() => w.close({ graceMs: 500 }));
    expect(await lost).toBe(0);
    expect(fireTime).toBeGreaterThan(0);

    // The scheduler goes on: the next two ticks fire after it.
    await until('two fires after the one whose reply was lost', async () => (await readFires(observer, 'ticking')).filter((f) => f.kind === 'fired' && f.fireTime > fireTime).length >= 2, {
      timeoutMs: 20_000,
      intervalMs: 100,
    });
    const fires = await readFires(observer, 'ticking');
    const fired = fires.filter((f): f is Extract<FireRecord, { kind: 'fired' }> => f.kind === 'fired');
    expect(fires.filter((f) => f.kind === 'skipped')).toEqual([]);
    const atT = fired.filter((f) => f.fireTime === fireTime);
    expect(atT).toHaveLength(1);
    // No tick missed: fire times are consecutive seconds.
    const times = fired.map((f) => f.fireTime);
    expect(times).toEqual(times.map((_, i) => (times[0] as number) + i * 1000));

    // One run per fire time, and T's is the one its fire record names; it runs to the end.
    const runIds = await observer.children(layout.runs('ticking'));
    const byFire = new Map<number, string[]>();
    for (const id of runIds) {
      const { record } = await recordAt(observer, 'ticking', id);
      byFire.set(record.fireTime as number, [...(byFire.get(record.fireTime as number) ?? []), id]);
    }
    for (const [t, ids] of byFire) expect(ids, `runs for fire time ${t}`).toHaveLength(1);
    expect(byFire.get(fireTime)).toEqual([atT[0]?.runId]);
    const rec = await waitForRun(observer, 'ticking', atT[0]?.runId as string, finished);
    expect(rec).toMatchObject({ state: 'succeeded', attempt: 1, fireTime });

    // The scheduler was told its fire landed: it logged it as fired, not as "already decided" by someone.
    expect(lines.filter((l) => l['msg'] === 'cron fired' && l['fireTime'] === fireTime)).toHaveLength(1);
    expect(lines.filter((l) => typeof l['msg'] === 'string' && (l['msg'] as string).includes('already decided'))).toEqual([]);
  });

  it('a partition assignment: written once (one generation, logged once), and it converges with one loop per partition', async () => {
    const observer = await env.client();
    loops.length = 0;
    // The first member's loops are slow to stop, so it is still releasing when the joiner publishes:
    // the joiner is the one that writes the new assignment (a compare-and-set over the first's).
    slowStop = true;
    const a = await startWorker({ connect: env.backend().connectString, root: env.root(), jobs: [looping as unknown as Job], schedule: false, sessionTimeoutMs: 6_000 });
    env.defer(() => a.close({ graceMs: 500 }));
    await until('the first member runs every partition', () => loops.filter((l) => l.stop === undefined).length === PARTITIONS);
    slowStop = false;

    const { proxy } = await env.proxied();
    const assignmentPath = `${env.root()}${layout.partitionAssignment('looping')}`;
    const lost = proxy.loseReplyTo(WRITE_OPS, (req) => req.includes(assignmentPath));
    const b = await startWorker({ connect: proxy.address, root: env.root(), jobs: [looping as unknown as Job], schedule: false, sessionTimeoutMs: 6_000 });
    env.defer(() => b.close({ graceMs: 500 }));
    expect(await lost).toBe(0);

    // Converged: the assignment is the ranges of the two live members, every partition has one
    // owner node (its member per the ranges), and one loop runs per partition, on its owner.
    let members: { member: string; worker: string }[] = [];
    await until(
      'the assignment converges over both members',
      async () => {
        const names = await observer.children(layout.partitionMembers('looping'));
        if (names.length !== 2) return false;
        members = [];
        for (const n of names) members.push({ member: n, worker: (await observer.get(`${layout.partitionMembers('looping')}/${n}`)).data.toString() });
        const expected = ownersOf(assignRanges(members, PARTITIONS), PARTITIONS);
        const stored = await readAssignment(observer, 'looping');
        if (JSON.stringify(stored?.assignment.ranges) !== JSON.stringify(assignRanges(members, PARTITIONS))) return false;
        if ((await observer.children(layout.partitionOwners('looping'))).length !== PARTITIONS) return false;
        for (let p = 0; p < PARTITIONS; p++) {
          const owner = JSON.parse((await observer.get(layout.partitionOwner('looping', p))).data.toString()) as OwnerRecord;
          if (owner.member !== expected[p]) return false;
        }
        const running = loops.filter((l) => l.stop === undefined);
        return running.length === PARTITIONS && new Set(running.map((l) => l.partition)).size === PARTITIONS;
      },
      { timeoutMs: 20_000 },
    );
    expect(members.map((m) => m.worker).sort()).toEqual([a.id, b.id].sort());

    // One write of generation 2, by the joiner, and nobody bumped it again; the rebalance is logged once.
    const stored = await readAssignment(observer, 'looping');
    expect(stored?.assignment.generation).toBe(2);
    const log = await readPartitionLog(observer, 'looping');
    expect(log.map((e) => ({ generation: e.generation, by: e.by }))).toEqual([
      { generation: 1, by: a.id },
      { generation: 2, by: b.id },
    ]);
    // Each owner node was claimed under a generation of this assignment, and the joiner's loops run under generation 2.
    for (let p = 0; p < PARTITIONS; p++) {
      const owner = JSON.parse((await observer.get(layout.partitionOwner('looping', p))).data.toString()) as OwnerRecord;
      expect(owner.generation).toBeLessThanOrEqual(2);
      const running = loops.filter((l) => l.partition === p && l.stop === undefined);
      expect(running).toHaveLength(1);
      expect(running[0]?.fence).toBe(`looping:p${p}:g${owner.generation}`);
      if (owner.worker === b.id) expect(owner.generation).toBe(2);
    }
    expect(loopOverlaps()).toEqual([]);
  });
});
