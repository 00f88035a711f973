/**
 * Runs a page at a time (shared/jobs/run-pages.ts) and counts from O(1)
 * sources (job-counts.ts), on both backends: every state's pages together
 * list each run once, in the state's order; cursors survive runs moving on
 * between pages; bundles are cut mid-record and resumed; across jobs a
 * state's listing is complete; bad cursors are refused.
 */
import { expect, it } from 'vitest';
import { droverCodeOf } from '../helpers/error-code.ts';
import { describeOnBackends, until } from '../helpers/backends.ts';
import type { Coordination, Op } from '../../shared/client/coordination.ts';
import { defineJob } from '../../shared/jobs/define-job.ts';
import { enqueue, enqueueWith } from '../../shared/jobs/enqueue.ts';
import { jobCounts, jobNames } from '../../shared/jobs/job-counts.ts';
import { ensureJobDirs, publishJob } from '../../shared/jobs/job-dirs.ts';
import { layout } from '../../shared/jobs/layout.ts';
import type { RunRecord } from '../../shared/jobs/job-types.ts';
import { cancelRun, pauseJob, resumeJob } from '../../shared/jobs/run-admin.ts';
import { listRunPage, listRunPageAcrossJobs, type PageState } from '../../shared/jobs/run-pages.ts';
import { waitForRun } from '../../shared/jobs/wait-for-run.ts';
import { NonRetryableError } from '../../shared/non-retryable-error.ts';
import { startWorker } from '../../worker/index.ts';

const plain = defineJob<number, number>({ name: 'pages', concurrency: 4, run: (_ctx, n) => n });
const bundled = defineJob<number, number>({ name: 'pages-bundled', bundle: 4, run: (_ctx, n) => n });
/** Even inputs succeed; odd ones are refused for good (dead at once). */
const judged = defineJob<number, number>({
  name: 'pages-judged',
  concurrency: 8,
  retries: 2,
  run: (_ctx, n) => {
    if (n % 2 === 1) throw new NonRetryableError(`odd ${n}`);
    return n;
  },
});
const judgedToo = defineJob<number, number>({ name: 'pages-judged-2', concurrency: 8, run: (_ctx, n) => {
  if (n % 2 === 1) throw new NonRetryableError(`odd ${n}`);
  return n;
} });

/** Every page of a listing, limit `limit`. */
async function allPages(read: (cursor: string | null) => Promise<{ runs: RunRecord[]; next: string | null }>): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page = await read(cursor);
    ids.push(...page.runs.map((r) => r.id));
    cursor = page.next;
    pages++;
    if (pages > 1000) throw new Error('runaway pagination');
  } while (cursor !== null);
  return { ids, pages };
}


describeOnBackends('jobs: runs by page, counts without listing', (env) => {
  async function paused(client: Coordination, job: typeof plain | typeof bundled): Promise<void> {
    await publishJob(client, job.spec);
    await pauseJob(client, job.name);
  }

  it('waiting: pages of every lane in claim order (priority, then FIFO), each run once; counts from lane heads and tails', async () => {
    const client = await env.client();
    await paused(client, plain);
    const low = await enqueueWith(client, 'pages', Array.from({ length: 7 }, (_, i) => ({ input: i, opts: { priority: 7 } })));
    const high = await enqueueWith(client, 'pages', Array.from({ length: 5 }, (_, i) => ({ input: i, opts: { priority: 2 } })));
    const mid = await enqueueWith(client, 'pages', Array.from({ length: 6 }, (_, i) => ({ input: i })));
    const listed = await allPages((cursor) => listRunPage(client, 'pages', { state: 'waiting', limit: 4, cursor }));
    expect(listed.ids).toEqual([...high, ...mid, ...low]);
    expect(listed.pages).toBe(5);
    // A page that holds the last waiting runs exactly is the last page: no cursor to an empty one.
    const exact = await listRunPage(client, 'pages', { state: 'waiting', limit: 18 });
    expect(exact.runs).toHaveLength(18);
    expect(exact.next).toBeNull();
    const counts = await jobCounts(client, 'pages');
    expect(counts).toMatchObject({ job: 'pages', waiting: 18, active: 0, delayed: 0, dead: 0, finished: 0, paused: true });
    expect(counts.lanes).toEqual([
      { priority: 2, depth: 5, tail: 5 },
      { priority: 5, depth: 6, tail: 6 },
      { priority: 7, depth: 7, tail: 7 },
    ]);
  });

  it('waiting: runs claimed between pages are not repeated, and none still waiting is skipped', async () => {
    const client = await env.client();
    await paused(client, plain);
    const gate = { open: false, release: (): void => {} };
    const held = new Promise<void>((resolve) => (gate.release = resolve));
    const slow = defineJob<number, number>({ name: 'pages-moving', concurrency: 3, run: async (_ctx, n) => {
      if (!gate.open) await held;
      return n;
    } });
    await publishJob(client, slow.spec);
    await pauseJob(client, 'pages-moving');
    const ids = await enqueueWith(client, 'pages-moving', Array.from({ length: 20 }, (_, i) => ({ input: i })));
    const first = await listRunPage(client, 'pages-moving', { state: 'waiting', limit: 5 });
    expect(first.runs.map((r) => r.id)).toEqual(ids.slice(0, 5));
    // A worker claims from the head meanwhile: some of page 1, perhaps more.
    const worker = await startWorker({ client, jobs: [slow], name: 'pager', schedule: false });
    env.defer(() => worker.close({ graceMs: 0 }));
    await resumeJob(client, 'pages-moving');
    await until('the worker to claim from the head', async () => (await jobCounts(client, 'pages-moving')).active >= 3);
    const rest = await allPages((cursor) => listRunPage(client, 'pages-moving', { state: 'waiting', limit: 5, cursor: cursor ?? first.next }));
    const seen = [...first.runs.map((r) => r.id), ...rest.ids];
    expect(new Set(seen).size).toBe(seen.length);
    const stillWaiting = (await allPages((cursor) => listRunPage(client, 'pages-moving', { state: 'waiting', limit: 50, cursor }))).ids;
    for (const id of stillWaiting) expect(seen).toContain(id);
    gate.open = true;
    gate.release();
  });

  it('bundles: a page may end inside a bundle and the next goes on from its next run', async () => {
    const client = await env.client();
    await paused(client, bundled);
    const ids = await enqueueWith(client, 'pages-bundled', Array.from({ length: 10 }, (_, i) => ({ input: i })));
    const listed = await allPages((cursor) => listRunPage(client, 'pages-bundled', { state: 'waiting', limit: 3, cursor }));
    expect(listed.ids).toEqual(ids);
    // Records, not runs: two bundles of 4 and a bundle or run for the rest.
    expect((await jobCounts(client, 'pages-bundled')).waiting).toBe(3);
  });

  it('finished, succeeded, dead and cancelled: complete, newest first; dead across jobs is every dead run', async () => {
    const client = await env.client();
    await publishJob(client, judged.spec);
    await publishJob(client, judgedToo.spec);
    await pauseJob(client, 'pages-judged');
    const ids = await enqueueWith(client, 'pages-judged', Array.from({ length: 12 }, (_, i) => ({ input: i })));
    const cancelled = [ids[10]!, ids[11]!];
    for (const id of cancelled) expect(await cancelRun(client, 'pages-judged', id)).toBe('cancelled');
    const other = await enqueueWith(client, 'pages-judged-2', Array.from({ length: 5 }, (_, i) => ({ input: i })));
    const worker = await startWorker({ client, jobs: [judged, judgedToo], name: 'judge', schedule: false });
    env.defer(() => worker.close({ graceMs: 0 }));
    await resumeJob(client, 'pages-judged');
    for (const id of ids.slice(0, 10)) await waitForRun(client, 'pages-judged', id, { timeoutMs: 20_000 });
    for (const id of other) await waitForRun(client, 'pages-judged-2', id, { timeoutMs: 20_000 });

    const list = (state: PageState, limit: number) => allPages((cursor) => listRunPage(client, 'pages-judged', { state, limit, cursor }));
    const even = ids.slice(0, 10).filter((_, i) => i % 2 === 0);
    const odd = ids.slice(0, 10).filter((_, i) => i % 2 === 1);
    expect((await list('succeeded', 2)).ids.sort()).toEqual([...even].sort());
    expect((await list('dead', 2)).ids.sort()).toEqual([...odd].sort());
    expect((await list('cancelled', 1)).ids.sort()).toEqual([...cancelled].sort());
    expect((await list('failed', 3)).ids).toEqual([]);
    // Finished is every run that ended: the dead ones first (by name), then history newest first.
    const finished = await allPages((cursor) => listRunPage(client, 'pages-judged', { state: 'finished', limit: 3, cursor }));
    expect([...finished.ids].sort()).toEqual([...even, ...odd, ...cancelled].sort());
    expect(finished.ids.slice(0, odd.length)).toEqual([...odd].sort());
    const firstPage = await listRunPage(client, 'pages-judged', { state: 'finished', limit: 12 });
    const ends = firstPage.runs.slice(odd.length).map((r) => r.finishedAt ?? 0);
    expect(ends).toEqual([...ends].sort((a, b) => b - a));

    const counts = await jobCounts(client, 'pages-judged');
    expect(counts).toMatchObject({ waiting: 0, active: 0, delayed: 0, succeeded: 5, failed: 0, cancelled: 2, dead: 5, finished: 7 });

    // A state's pages list that state's history directory alone, never a mixed list filtered.
    const listedDirs: string[] = [];
    const watched = new Proxy(client, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target) as unknown;
        if (typeof value !== 'function') return value;
        if (prop === 'children' || prop === 'childrenWithStat') {
          return (path: string, ...rest: unknown[]) => {
            listedDirs.push(path);
            return (value as (...a: unknown[]) => unknown).call(target, path, ...rest);
          };
        }
        return (value as (...a: unknown[]) => unknown).bind(target);
      },
    }) as Coordination;
    for (const state of ['succeeded', 'failed', 'cancelled'] as const) {
      listedDirs.length = 0;
      await allPages((cursor) => listRunPage(watched, 'pages-judged', { state, limit: 2, cursor }));
      expect(new Set(listedDirs), state).toEqual(new Set([layout.historyDir('pages-judged', state)]));
    }

    const jobs = await jobNames(client);
    expect(jobs).toEqual(expect.arrayContaining(['pages-judged', 'pages-judged-2']));
    const dead = await allPages((cursor) => listRunPageAcrossJobs(client, jobs, { state: 'dead', limit: 2, cursor }));
    const otherOdd = other.filter((_, i) => i % 2 === 1);
    expect(dead.ids.sort()).toEqual([...odd, ...otherOdd].sort());
  });

  it('all (no state) and finished list dead runs too: every run once across pages, per job and across jobs, sections in order', async () => {
    const client = await env.client();
    const t0 = 1_700_000_000_000;
    const mixedA = defineJob({ name: 'pages-mix-a', run: () => null });
    const mixedB = defineJob({ name: 'pages-mix-b', run: () => null });
    for (const j of [mixedA, mixedB]) {
      await publishJob(client, j.spec);
      await ensureJobDirs(client, j.name);
      await pauseJob(client, j.name);
    }
    /** A finished run of its own as the finish path leaves it (dead: a dead-letter node, no history entry). */
    const finished = async (job: string, id: string, state: 'succeeded' | 'failed' | 'cancelled' | 'dead', end: number): Promise<string> => {
      const record: RunRecord = { v: 1, id, job, state, input: null, attempt: 1, maxAttempts: 1, priority: 5, enqueuedAt: end - 10, startedAt: end - 5, finishedAt: end };
      const entry = state === 'dead' ? layout.deadRun(job, id) : layout.historyEntry(job, state, end, id);
      await client.multi([
        { op: 'create', path: layout.run(job, id), data: Buffer.from(JSON.stringify(record)) },
        { op: 'create', path: entry },
      ]);
      return id;
    };
    const delayedRun = async (job: string, id: string, due: number): Promise<string> => {
      const record: RunRecord = { v: 1, id, job, state: 'delayed', input: null, attempt: 1, maxAttempts: 2, priority: 5, enqueuedAt: due - 10, dueAt: due };
      await client.multi([
        { op: 'create', path: layout.run(job, id), data: Buffer.from(JSON.stringify(record)) },
        { op: 'create', path: layout.delayedRun(job, due, id) },
      ]);
      return id;
    };
    // Job a: a dead run whose id sorts last and which ended last (dead is listed by name, not by time),
    // one failed, two succeeded, one cancelled, one delayed, two waiting.
    const aWaiting = await enqueueWith(client, 'pages-mix-a', [{ input: 1 }, { input: 2 }]);
    const aDelayed = await delayedRun('pages-mix-a', 'r-a-delayed', t0 + 9_000);
    const aDead = [await finished('pages-mix-a', 'r-a-zz-dead', 'dead', t0 + 50), await finished('pages-mix-a', 'r-a-00-dead', 'dead', t0 + 5)];
    const aHistory = [
      await finished('pages-mix-a', 'r-a-ok-1', 'succeeded', t0 + 10),
      await finished('pages-mix-a', 'r-a-failed', 'failed', t0 + 20),
      await finished('pages-mix-a', 'r-a-cancelled', 'cancelled', t0 + 30),
      await finished('pages-mix-a', 'r-a-ok-2', 'succeeded', t0 + 40),
    ];
    // Job b: a dead, a failed and a succeeded run, interleaved in time with a's.
    const bDead = await finished('pages-mix-b', 'r-b-dead', 'dead', t0 + 1);
    const bHistory = [await finished('pages-mix-b', 'r-b-failed', 'failed', t0 + 25), await finished('pages-mix-b', 'r-b-ok', 'succeeded', t0 + 35)];

    const newestFirst = (ids: string[], ends: Record<string, number>) => [...ids].sort((x, y) => (ends[y] as number) - (ends[x] as number));
    const ends: Record<string, number> = { 'r-a-ok-1': 10, 'r-a-failed': 20, 'r-a-cancelled': 30, 'r-a-ok-2': 40, 'r-b-failed': 25, 'r-b-ok': 35 };
    const aAll = [...aWaiting, aDelayed, ...[...aDead].sort(), ...newestFirst(aHistory, ends)];
    for (const limit of [1, 2, 3, 50]) {
      const all = await allPages((cursor) => listRunPage(client, 'pages-mix-a', { state: 'all', limit, cursor }));
      expect(all.ids, `all, limit ${limit}`).toEqual(aAll);
      const done = await allPages((cursor) => listRunPage(client, 'pages-mix-a', { state: 'finished', limit, cursor }));
      expect(done.ids, `finished, limit ${limit}`).toEqual([...[...aDead].sort(), ...newestFirst(aHistory, ends)]);
      // Across jobs: each section job by job, history merged newest first across the jobs.
      const across = await allPages((cursor) => listRunPageAcrossJobs(client, ['pages-mix-b', 'pages-mix-a'], { state: 'all', limit, cursor }));
      expect(across.ids, `all across jobs, limit ${limit}`).toEqual([...aWaiting, aDelayed, ...[...aDead].sort(), bDead, ...newestFirst([...aHistory, ...bHistory], ends)]);
    }
    // The all-finished count of a job page (history and dead) is what its pages list.
    const counts = await jobCounts(client, 'pages-mix-a');
    expect(counts.finished + counts.dead).toBe(aDead.length + aHistory.length);

    // A page reads the records it shows, not every dead record: one dead run a page.
    let gets = 0;
    const counting = new Proxy(client, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target) as unknown;
        if (typeof value !== 'function') return value;
        if (prop === 'get') return (...a: unknown[]) => (gets++, (value as (...b: unknown[]) => unknown).apply(target, a));
        return (value as (...b: unknown[]) => unknown).bind(target);
      },
    }) as Coordination;
    const deadPage = await listRunPage(counting, 'pages-mix-a', { state: 'finished', limit: 1 });
    expect(deadPage.runs.map((r) => r.id)).toEqual([[...aDead].sort()[0]]);
    expect(gets).toBe(1);
    // A cursor of one listing is refused by another.
    expect(await droverCodeOf(listRunPage(client, 'pages-mix-a', { state: 'all', cursor: deadPage.next }))).toBe('DROVER_INVALID_ARGUMENT');
  });

  it('a long history is listed once per change: pages between changes reuse it, a change is seen', async () => {
    const client = await env.client();
    const job = defineJob({ name: 'pages-long', run: () => null, history: { keep: 10_000 } });
    await publishJob(client, job.spec);
    await ensureJobDirs(client, 'pages-long');
    const finish = async (from: number, count: number, end: (k: number) => number): Promise<string[]> => {
      const ids: string[] = [];
      for (let i = from; i < from + count; i += 250) {
        const ops: Op[] = [];
        for (let k = i; k < Math.min(from + count, i + 250); k++) {
          const id = `r-long-${String(k).padStart(6, '0')}`;
          ids.push(id);
          const record: RunRecord = { v: 1, id, job: 'pages-long', state: 'succeeded', input: k, attempt: 1, maxAttempts: 1, priority: 5, enqueuedAt: end(k) - 2, finishedAt: end(k) };
          ops.push({ op: 'create', path: layout.run('pages-long', id), data: Buffer.from(JSON.stringify(record)) });
          ops.push({ op: 'create', path: layout.historyEntry('pages-long', 'succeeded', end(k), id) });
        }
        await client.multi(ops);
      }
      return ids;
    };
    const t0 = 1_700_000_000_000;
    const old = await finish(0, 1200, (k) => t0 + k);
    const first = await listRunPage(client, 'pages-long', { state: 'succeeded', limit: 500 });
    // A newer run finishes between pages: it is ahead of the cursor, so later pages neither repeat nor skip.
    await finish(1200, 1, () => t0 + 10_000_000);
    const rest = await allPages((cursor) => listRunPage(client, 'pages-long', { state: 'succeeded', limit: 500, cursor: cursor ?? first.next }));
    const seen = [...first.runs.map((r) => r.id), ...rest.ids];
    expect(seen).toEqual([...old].reverse());
    // From the top again, the new one is first.
    expect((await listRunPage(client, 'pages-long', { state: 'finished', limit: 1 })).runs[0]?.id).toBe('r-long-001200');
  });

  it('refuses a cursor that is not one, or belongs to another state; refuses a bad limit or state', async () => {
    const client = await env.client();
    await paused(client, plain);
    await enqueue(client, 'pages', 1);
    await enqueue(client, 'pages', 2);
    const page = await listRunPage(client, 'pages', { state: 'waiting', limit: 1 });
    expect(page.next).not.toBeNull();
    expect(await droverCodeOf(listRunPage(client, 'pages', { state: 'dead', cursor: page.next }))).toBe('DROVER_INVALID_ARGUMENT');
    expect(await droverCodeOf(listRunPage(client, 'pages', { state: 'waiting', cursor: 'not-a-cursor' }))).toBe('DROVER_INVALID_ARGUMENT');
    expect(await droverCodeOf(listRunPage(client, 'pages', { state: 'waiting', limit: 0 }))).toBe('DROVER_INVALID_ARGUMENT');
    expect(await droverCodeOf(listRunPage(client, 'pages', { state: 'nope' as PageState }))).toBe('DROVER_INVALID_ARGUMENT');
  });
});
