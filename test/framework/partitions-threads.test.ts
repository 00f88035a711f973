/**
 * Partition loops run in threads of their own (worker/runtime.ts,
 * `partitionThreads`), on both backends:
 * - a loop that burns the CPU synchronously for 3 s, in chunks longer than
 *   the worker's default 1200 ms session, does not expire that session (its
 *   worker and owner nodes stay, no SUSPENDED or LOST), does not stall the
 *   worker's main loop, and does not delay another job's runs;
 * - fencing still holds: when ownership moves, the old owner's loop has
 *   stopped before the new owner's starts, and a loop deaf to its signal has
 *   its thread replaced after abortGraceMs so the partition moves anyway,
 *   without disturbing the loops that stay.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { describeOnBackends, until } from '../helpers/backends.ts';
import { enqueue } from '../../shared/jobs/enqueue.ts';
import { layout } from '../../shared/jobs/layout.ts';
import { startWorker, WORKER_SESSION_TIMEOUT_MS } from '../../worker/runtime.ts';
import { BURN_MS, CHUNK_MS } from './fixtures/partition-burn-jobs.ts';
import { DEAF_PARTITION } from './fixtures/partition-handover-jobs.ts';
import { finished, waitForRun } from './jobs-waits.ts';
import { readJsonLines } from '../helpers/json-lines.ts';

const BURN_FIXTURE = path.resolve(import.meta.dirname, 'fixtures/partition-burn-jobs.ts');
const HANDOVER_FIXTURE = path.resolve(import.meta.dirname, 'fixtures/partition-handover-jobs.ts');
/**
 * A run of another job must finish within one chunk while the loop burns: on
 * the main loop it would wait a chunk out. (Not tighter: CI runs test files in
 * parallel on 2 cores.)
 */
const PROMPT_MS = CHUNK_MS;

interface TraceLine {
  event: string;
  partition: number;
  fence?: string;
  thread: number;
  at: number;
  chunks?: number;
  ms?: number;
}

function traces(file: string): TraceLine[] {
  return readJsonLines<TraceLine>(file);
}

describeOnBackends('partitions: loops in threads', (env) => {
  function traceFile(): string {
    const dir = mkdtempSync(path.join(tmpdir(), 'drover-partitions-'));
    env.defer(() => rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'trace.jsonl');
    // Threads copy the process's env when they start: set it before the worker starts them.
    process.env['DROVER_PARTITION_TRACE'] = file;
    env.defer(() => void delete process.env['DROVER_PARTITION_TRACE']);
    return file;
  }

  it('a CPU-bound partition loop cannot expire the worker session or delay its other runs', async () => {
    const log = traceFile();
    const client = await env.client();
    // The default session (1200 ms requested; both test backends tick at 500, so it is granted).
    const w = await startWorker({ connect: env.backend().connectString, root: env.root(), jobs: BURN_FIXTURE, schedule: false });
    env.defer(() => w.close({ graceMs: 500 }));
    const states: string[] = [];
    w.onEvent((e) => {
      if (e.type === 'state') states.push(e.state);
    });
    const session = w.client.sessionId;
    const workerPath = layout.worker(w.id);
    const ownerPath = layout.partitionOwner('burner', 0);

    await until('the loop to start', () => traces(log).some((t) => t.event === 'start'));
    // Any change to the worker's node or its owner node (deleted with an expired session) fires these.
    const nodeEvents: string[] = [];
    expect((await client.exists(workerPath, (e) => nodeEvents.push(`worker ${e.type}`)))?.ephemeralOwner).toBe(session);
    expect((await client.exists(ownerPath, (e) => nodeEvents.push(`owner ${e.type}`)))?.ephemeralOwner).toBe(session);

    // The worker's own main loop (this process): its longest stall while the loop burns.
    let last = Date.now();
    let maxStall = 0;
    const ticker = setInterval(() => {
      const now = Date.now();
      maxStall = Math.max(maxStall, now - last);
      last = now;
    }, 20);
    const latencies: number[] = [];
    try {
      while (!traces(log).some((t) => t.event === 'burned')) {
        const t0 = Date.now();
        const runId = await enqueue(client, 'quick', null);
        const rec = await waitForRun(client, 'quick', runId, finished, { timeoutMs: 10_000 });
        expect(rec.state).toBe('succeeded');
        expect(rec.worker).toBe(w.id);
        latencies.push(Date.now() - t0);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      clearInterval(ticker);
    }

    const lines = traces(log);
    const burned = lines.find((t) => t.event === 'burned');
    // It did burn, in chunks each longer than the session, on a thread that is not the main one.
    expect(burned?.chunks).toBe(BURN_MS / CHUNK_MS);
    expect(burned?.ms).toBeGreaterThanOrEqual(BURN_MS);
    expect(burned?.thread).toBeGreaterThan(0);
    expect(CHUNK_MS).toBeGreaterThan(WORKER_SESSION_TIMEOUT_MS);
    // Once started, never restarted: ownership did not move, nor was the loop stopped.
    expect(lines.filter((t) => t.event === 'start')).toHaveLength(1);
    expect(lines.filter((t) => t.event === 'stop')).toHaveLength(0);
    // The session lived through it: same session, its ephemerals untouched, no state change.
    expect(states).toEqual([]);
    expect(nodeEvents).toEqual([]);
    expect(w.client.sessionId).toBe(session);
    expect((await client.exists(workerPath))?.ephemeralOwner).toBe(session);
    expect((await client.exists(ownerPath))?.ephemeralOwner).toBe(session);
    // The main loop never stalled for a chunk (the session's survival is asserted above)...
    expect(maxStall).toBeLessThan(CHUNK_MS);
    // ...and the other job's runs went on, each promptly (on the main loop, one would wait out a chunk).
    expect(latencies.length).toBeGreaterThanOrEqual(5);
    expect(Math.max(...latencies), `run latencies ${latencies.join(', ')} ms`).toBeLessThan(PROMPT_MS);
  }, 60_000);

  it('when ownership moves, the old loop stops before the new one starts; a loop deaf to its signal loses its thread', async () => {
    const log = traceFile();
    const graceMs = 300;
    const opts = {
      connect: env.backend().connectString,
      root: env.root(),
      jobs: HANDOVER_FIXTURE,
      schedule: false,
      abortGraceMs: graceMs,
      threads: 1,
      // One thread per loop, so replacing the deaf loop's thread touches no other loop.
      partitionThreads: 4,
    };
    const a = await startWorker(opts);
    env.defer(() => a.close({ graceMs: 500 }));
    await until('worker a to run all 4 loops', () => new Set(traces(log).filter((t) => t.event === 'start').map((t) => t.partition)).size === 4);
    const genA = traces(log).find((t) => t.event === 'start')?.fence?.split(':')[2];
    const b = await startWorker(opts);
    env.defer(() => b.close({ graceMs: 500 }));
    // MetaQ ranges over [a, b]: a keeps 0 and 1, b takes 2 and 3.
    const client = await env.client();
    await until('b to own and run 2 and 3', async () => {
      const starts = traces(log).filter((t) => t.event === 'start' && !t.fence?.endsWith(`:${genA}`));
      if (new Set(starts.map((t) => t.partition)).size !== 2) return false;
      const owners = await Promise.all([0, 1, 2, 3].map((p) => client.get(layout.partitionOwner('handover', p)).then((r) => JSON.parse(r.data.toString()) as { worker: string })));
      return owners.map((o) => o.worker).join() === [a.id, a.id, b.id, b.id].join();
    });

    const lines = traces(log);
    const of = (p: number, event: string): TraceLine[] => lines.filter((t) => t.partition === p && t.event === event);
    // 0 and 1 stayed with a: started once, never stopped, though a's deaf loop lost its thread.
    for (const p of [0, 1]) {
      expect(of(p, 'start')).toHaveLength(1);
      expect(of(p, 'stop')).toHaveLength(0);
    }
    // 2 (well-behaved): a's loop returned, then b's started.
    const [a2, b2] = of(2, 'start');
    expect(a2?.fence?.endsWith(`:${genA}`)).toBe(true);
    expect(b2?.fence?.endsWith(`:${genA}`)).toBe(false);
    expect(of(2, 'stop')).toHaveLength(1);
    expect(b2!.at).toBeGreaterThanOrEqual(of(2, 'stop')[0]!.at);
    // 3 (deaf): a's loop ignored its abort and never returned; b's started only after a's
    // thread was replaced, at least the grace after the abort.
    const [a3, b3] = of(3, 'start');
    expect(a3?.fence?.endsWith(`:${genA}`)).toBe(true);
    expect(b3?.fence?.endsWith(`:${genA}`)).toBe(false);
    const ignored = of(DEAF_PARTITION, 'abort-ignored');
    expect(ignored).toHaveLength(1);
    expect(ignored[0]!.fence).toBe(a3!.fence);
    expect(of(3, 'stop')).toHaveLength(0);
    expect(b3!.at - ignored[0]!.at).toBeGreaterThanOrEqual(graceMs);
    expect(b3!.thread).not.toBe(a3!.thread);
  }, 60_000);
});
