/**
 * Worker processes on both backends: `drover worker` killed with SIGKILL
 * mid-run (the run is re-queued once the session expires and completes on
 * another worker, never on two at once, never lost; for a bundle, its
 * finished runs stay finished and only the others run again), a CPU-bound handler
 * that does not cost the worker its session, and SIGTERM draining.
 */
import { inflightNameOf } from '../helpers/claim-lease.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { describeOnBackends, nextEvent, until } from '../helpers/backends.ts';
import type { Coordination } from '../../shared/client/coordination.ts';
import { enqueue, enqueueWith } from '../../shared/jobs/enqueue.ts';
import { layout } from '../../shared/jobs/layout.ts';
import { requeueOrphans } from '../../shared/jobs/recovery.ts';
import { getRun } from '../../shared/jobs/run-admin.ts';
import { decodeStored } from '../../shared/jobs/run-codec.ts';
import { splitBundledRunId } from '../../shared/jobs/run-id.ts';
import { startWorker } from '../../worker/runtime.ts';
import { childrenGone, finished, waitForRun } from './jobs-waits.ts';
import { readJsonLines } from '../helpers/json-lines.ts';

const repo = path.resolve(import.meta.dirname, '../..');
const FIXTURE = path.join(repo, 'test/framework/fixtures/worker-process-jobs.ts');
// Short enough to keep the file fast, long enough that a loaded 2-core machine does not expire it.
const SESSION_MS = 3_000;

interface Spawned {
  child: ChildProcess;
  id: string;
  exited: Promise<number | null>;
  stderr: () => string;
}

interface TraceLine {
  event: string;
  runId: string;
  attempt?: number;
  pid: number;
  at: number;
  code?: string;
}

function traces(file: string): TraceLine[] {
  return readJsonLines<TraceLine>(file);
}

describeOnBackends('worker: processes', (env) => {
  function tmpLog(): string {
    const dir = mkdtempSync(path.join(tmpdir(), 'drover-worker-'));
    env.defer(() => rmSync(dir, { recursive: true, force: true }));
    return path.join(dir, 'trace.jsonl');
  }

  async function spawnWorker(extra: string[] = []): Promise<Spawned> {
    const args = ['bin/drover.mjs', 'worker', '--jobs', FIXTURE, '--connect', env.backend().connectString, '--root', env.root()];
    args.push('--no-schedule', '--session-timeout', String(SESSION_MS), '--log-level', 'warn', ...extra);
    const child = spawn(process.execPath, args, { cwd: repo, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    env.defer(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    const id = await nextEvent<string>(
      'the worker to start',
      (deliver) => {
        child.stderr!.on('data', (chunk: Buffer) => {
          err += chunk.toString();
          const m = /drover worker: (w-\d{10}) running/.exec(err);
          if (m?.[1]) deliver(m[1]);
        });
        void exited.then((code) => deliver(`exited ${code}: ${err}`));
      },
      30_000,
    );
    if (!id.startsWith('w-')) throw new Error(`worker did not start: ${id}`);
    return { child, id, exited, stderr: () => err };
  }

  /** Until the lease holding `runId` (its claim group's, or a bundle's named `runId`) is gone. */
  async function leaseGone(client: Coordination, job: string, runId: string): Promise<void> {
    const name = (await inflightNameOf(client, job, runId)) ?? runId;
    for (;;) {
      let fired!: () => void;
      const deleted = new Promise<void>((resolve) => (fired = resolve));
      if (!(await client.exists(layout.lease(job, name), () => fired()))) return;
      await deleted;
    }
  }

  async function killedMidRun(opts: { viaScheduler: boolean }): Promise<void> {
    const client = await env.client();
    const log = tmpLog();
    const a = await spawnWorker();
    const runId = await enqueue(client, 'stick-first', { log });
    const active = await waitForRun(client, 'stick-first', runId, (r) => r.state === 'active');
    expect(active.worker).toBe(a.id);
    // Active on the record is the claim; wait until the handler itself is running in A.
    await until('attempt 1 to start in A', () => traces(log).some((t) => t.event === 'start' && t.attempt === 1));
    a.child.kill('SIGKILL');
    await a.exited;
    const killedAt = Date.now();
    // Until the session expires the lease is still held: nobody may take the run.
    expect((await getRun(client, 'stick-first', runId)).state).toBe('active');
    await leaseGone(client, 'stick-first', runId);
    if (!opts.viaScheduler) {
      const report = await requeueOrphans(client, 'stick-first');
      expect(report).toEqual({ requeued: [runId], dead: [] });
      expect((await getRun(client, 'stick-first', runId)).state).toBe('queued');
    }
    const b = await startWorker({
      connect: env.backend().connectString,
      root: env.root(),
      jobs: FIXTURE,
      schedule: opts.viaScheduler,
      sessionTimeoutMs: SESSION_MS,
    });
    env.defer(() => b.close({ graceMs: 500 }));
    const done = await waitForRun(client, 'stick-first', runId, finished, { timeoutMs: 30_000 });
    expect(done.state).toBe('succeeded');
    expect(done.result).toBe('done on attempt 2');
    expect(done.worker).toBe(b.id);
    // retries: 0, yet it ran again: a lost worker is a stall, not a failed attempt (maxStalls 2).
    expect(done.stalls).toBe(1);
    expect(done.freeAttempts).toBe(1);
    const starts = traces(log).filter((t) => t.event === 'start');
    expect(starts.map((s) => [s.attempt, s.pid === process.pid ? 'b' : 'a'])).toEqual([
      [1, 'a'],
      [2, 'b'],
    ]);
    // Attempt 2 began only after attempt 1's process was dead.
    expect(starts[1]!.at).toBeGreaterThanOrEqual(killedAt);
    expect(traces(log).filter((t) => t.event === 'end')).toHaveLength(1);
    // B's claim group goes once B's finish has landed.
    await childrenGone(client, layout.inflight('stick-first'));
  }

  it('kill -9 under load: every run of a 240-run backlog ends succeeded exactly once, whatever its claim group held', async () => {
    const client = await env.client();
    const log = tmpLog();
    const a = await spawnWorker();
    const ids = await enqueueWith(client, 'churn', Array.from({ length: 240 }, (_, i) => ({ input: { log, ms: 15, i } })));
    // Killed with runs finished, runs running, runs claimed ahead and groups half landed.
    await until('A to have finished some runs', () => traces(log).filter((t) => t.event === 'end').length >= 40);
    a.child.kill('SIGKILL');
    await a.exited;
    const b = await startWorker({ connect: env.backend().connectString, root: env.root(), jobs: FIXTURE, schedule: true, sessionTimeoutMs: SESSION_MS });
    env.defer(() => b.close({ graceMs: 500 }));
    const records = await Promise.all(ids.map((id) => waitForRun(client, 'churn', id, finished, { timeoutMs: 60_000 })));
    expect(records.map((r) => [r.state, r.result])).toEqual(ids.map((_, i) => ['succeeded', i]));
    // One history entry per run: no run finished twice.
    const entries = (await client.children(layout.historyDir('churn', 'succeeded'))).map((h) => h.slice(16)).sort();
    expect(entries).toEqual([...ids].sort());
    // Runs A had not finished ran again on B (at least once), never twice after a finish landed.
    const ends = traces(log).filter((t) => t.event === 'end');
    const endsOnB = new Map<string, number>();
    for (const e of ends) if (e.pid === process.pid) endsOnB.set(e.runId, (endsOnB.get(e.runId) ?? 0) + 1);
    expect([...endsOnB.values()].every((n) => n === 1)).toBe(true);
    // A's runs in flight were recovered from their groups, each lost attempt a free stall.
    expect(records.filter((r) => (r.stalls ?? 0) > 0).length).toBeGreaterThan(0);
    for (const r of records) expect(r.attempt - (r.freeAttempts ?? 0)).toBe(1);
    await childrenGone(client, layout.inflight('churn'));
    expect((await client.exists(layout.leases('churn')))?.numChildren ?? 0).toBe(0);
  }, 90_000);

  it('--jobs takes a comma-separated list as well as repeats', async () => {
    const w = await spawnWorker(['--jobs', 'examples/word-count.ts,examples/feed-consumer.ts']);
    const running = /running (.*) on /.exec(w.stderr())?.[1]?.split(', ') ?? [];
    expect(running).toEqual(expect.arrayContaining(['stick-first', 'word-count-map', 'word-count-reduce', 'feed-consumer']));
    w.child.kill('SIGTERM');
    expect(await w.exited, w.stderr()).toBe(0);
  });

  it('kill -9 mid-run: re-queued after the session expires (requeueOrphans), completes on another worker', async () => {
    await killedMidRun({ viaScheduler: false });
  }, 60_000);

  it('kill -9 mid-run: the scheduler of the surviving worker re-queues it', async () => {
    await killedMidRun({ viaScheduler: true });
  }, 60_000);

  it('kill -9 mid-bundle: finished runs stay finished, the others run again on another worker after the session expires', async () => {
    const client = await env.client();
    const log = tmpLog();
    const a = await spawnWorker();
    const ids = await enqueueWith(client, 'bundle-stick', [0, 1, 2, 3].map((n) => ({ input: { log, n, hang: n >= 2 } })));
    const bundleId = splitBundledRunId(ids[0]!)?.bundleId as string;
    const bundleState = async (): Promise<{ state: string; runs: string[] }> => {
      const stored = decodeStored((await client.get(layout.run('bundle-stick', bundleId))).data, bundleId);
      if (stored.kind !== 'bundle') throw new Error(`${bundleId} is not a bundle`);
      return { state: stored.bundle.state, runs: stored.bundle.runs.map((r) => r.state) };
    };
    // Runs 0 and 1 finish and are written; 2 and 3 hang in worker A.
    await Promise.all(ids.slice(0, 2).map((id) => waitForRun(client, 'bundle-stick', id, finished)));
    await until('runs 2 and 3 started in A', () => traces(log).filter((t) => t.event === 'start').length === 4);
    a.child.kill('SIGKILL');
    await a.exited;
    const killedAt = Date.now();
    await leaseGone(client, 'bundle-stick', bundleId);
    expect(await requeueOrphans(client, 'bundle-stick')).toEqual({ requeued: [ids[2], ids[3]], dead: [] });
    expect(await bundleState()).toEqual({ state: 'queued', runs: ['succeeded', 'succeeded', 'queued', 'queued'] });
    const b = await startWorker({ connect: env.backend().connectString, root: env.root(), jobs: FIXTURE, schedule: false, sessionTimeoutMs: SESSION_MS });
    env.defer(() => b.close({ graceMs: 500 }));
    const recs = await Promise.all(ids.map((id) => waitForRun(client, 'bundle-stick', id, finished, { timeoutMs: 30_000 })));
    expect(recs.map((r) => [r.state, r.result])).toEqual([
      ['succeeded', 'n0 on attempt 1'],
      ['succeeded', 'n1 on attempt 1'],
      ['succeeded', 'n2 on attempt 2'],
      ['succeeded', 'n3 on attempt 2'],
    ]);
    expect(recs[2]!.stalls).toBe(1);
    const starts = traces(log).filter((t) => t.event === 'start');
    // 0 and 1 once (in A); 2 and 3 twice: in A, then in B only after A was dead.
    expect(starts.filter((s) => s.runId === ids[0] || s.runId === ids[1])).toHaveLength(2);
    for (const id of [ids[2], ids[3]]) {
      const mine = starts.filter((s) => s.runId === id);
      expect(mine.map((s) => [s.attempt, s.pid === process.pid ? 'b' : 'a'])).toEqual([
        [1, 'a'],
        [2, 'b'],
      ]);
      expect(mine[1]!.at).toBeGreaterThanOrEqual(killedAt);
    }
    await until('the bundle in history', async () => (await bundleState()).state === 'done');
    expect(await client.children(layout.inflight('bundle-stick'))).toEqual([]);
  }, 60_000);

  it('a CPU-bound handler (3x the session timeout) does not expire the worker session', async () => {
    const client = await env.client();
    const log = tmpLog();
    const a = await spawnWorker();
    const before = await client.exists(layout.worker(a.id));
    const runId = await enqueue(client, 'spin', { log, ms: 3 * SESSION_MS });
    const done = await waitForRun(client, 'spin', runId, finished, { timeoutMs: 30_000 });
    expect(done.state).toBe('succeeded');
    expect(done.attempt).toBe(1);
    expect(done.worker).toBe(a.id);
    const after = await client.exists(layout.worker(a.id));
    expect(after?.ephemeralOwner).toBe(before?.ephemeralOwner);
    a.child.kill('SIGTERM');
    expect(await a.exited).toBe(0);
  }, 60_000);

  it('SIGTERM drains: running attempts finish within the grace, a stubborn one is handed back', async () => {
    const client = await env.client();
    const log = tmpLog();
    const a = await spawnWorker(['--grace', '1500']);
    const quick = await Promise.all([0, 1].map(() => enqueue(client, 'slow-job', { log, ms: 500 })));
    const stubborn = await enqueue(client, 'slow-job', { log, ms: 10, stubborn: true });
    await Promise.all([...quick, stubborn].map((id) => waitForRun(client, 'slow-job', id, (r) => r.state === 'active' || finished(r))));
    a.child.kill('SIGTERM');
    expect(await a.exited).toBe(0);
    for (const id of quick) expect((await getRun(client, 'slow-job', id)).state).toBe('succeeded');
    const handed = await getRun(client, 'slow-job', stubborn);
    expect(handed.state).toBe('queued');
    expect(handed.attempt).toBe(1);
    expect(handed.freeAttempts).toBe(1);
    expect(await client.children(layout.inflight('slow-job'))).toEqual([]);
    const b = await startWorker({ connect: env.backend().connectString, root: env.root(), jobs: FIXTURE, schedule: false, sessionTimeoutMs: SESSION_MS });
    env.defer(() => b.close({ graceMs: 500 }));
    const done = await waitForRun(client, 'slow-job', stubborn, finished);
    expect(done.state).toBe('succeeded');
    expect(done.attempt).toBe(2);
    expect(done.worker).toBe(b.id);
    expect(traces(log).some((t) => t.event === 'abort' && t.code === 'DROVER_CLOSED')).toBe(true);
  }, 60_000);

  it('a handler deaf to its signal past timeout + grace gets its thread replaced; the pool goes on', async () => {
    const client = await env.client();
    const log = tmpLog();
    const w = await startWorker({ connect: env.backend().connectString, root: env.root(), jobs: FIXTURE, schedule: false, threads: 1, abortGraceMs: 300 });
    env.defer(() => w.close({ graceMs: 200 }));
    const runId = await enqueue(client, 'stuck', { log, ms: 60_000 });
    const rec = await waitForRun(client, 'stuck', runId, finished);
    expect(rec.state).toBe('dead');
    expect(rec.error?.code).toBe('DROVER_TIMEOUT');
    // The only thread was spinning forever: a run that completes proves it was replaced. (If
    // it was sent to the doomed thread, it is handed back and runs again: not an attempt.)
    const next = await enqueue(client, 'spin', { log, ms: 10 });
    const done = await waitForRun(client, 'spin', next, finished);
    expect(done.state).toBe('succeeded');
    expect(done.attempt - (done.freeAttempts ?? 0)).toBe(1);
  }, 30_000);
});
