/**
 * History split by final state (layout.historyDir, history-entries.ts), on
 * both backends: `history.keep` bounds each state on its own; a bundle's
 * entries in several states keep its record until the last of them goes
 * (then its dead-letter nodes go too), also when another pruner takes one
 * of them between the read and the write; entries of the layout before
 * the split are sorted into their state directories by the pruner (a run
 * retried meanwhile is left alone), then counted, listed and pruned like
 * the rest. Records are written by hand as a worker's finish leaves them.
 */
import { expect, it } from 'vitest';
import type { Coordination, Op } from '../../shared/client/coordination.ts';
import { defineJob } from '../../shared/jobs/define-job.ts';
import { historyCreateOps } from '../../shared/jobs/history-entries.ts';
import { jobCounts } from '../../shared/jobs/job-counts.ts';
import { publishJob } from '../../shared/jobs/job-dirs.ts';
import type { BundleRecord, RunRecord, RunState } from '../../shared/jobs/job-types.ts';
import { HISTORY_STATES, layout, pad } from '../../shared/jobs/layout.ts';
import { pruneHistory } from '../../shared/jobs/recovery.ts';
import { getRun, retryRun } from '../../shared/jobs/run-admin.ts';
import { encodeBundle, encodeRecord } from '../../shared/jobs/run-codec.ts';
import { bundledRunId, newBundleId, newRunId } from '../../shared/jobs/run-id.ts';
import { listRunPage } from '../../shared/jobs/run-pages.ts';
import { describeOnBackends } from '../helpers/backends.ts';

const JOB = 'by-state';
const job = defineJob({ name: JOB, run: () => null });
const DAY = 86_400_000;

function record(id: string, state: RunState, end: number): RunRecord {
  const r: RunRecord = { v: 1, id, job: JOB, state, input: null, attempt: 1, maxAttempts: 1, priority: 5, enqueuedAt: end - 1000, startedAt: end - 10, finishedAt: end };
  if (state !== 'succeeded') r.error = { code: 'E', message: state };
  return r;
}

function bundle(id: string, states: RunState[], end: number): BundleRecord {
  return { v: 1, kind: 'bundle', id, job: JOB, state: 'done', priority: 5, enqueuedAt: end - 1000, finishedAt: end, runs: states.map((s, k) => record(bundledRunId(id, k), s, end)) };
}

/** Finished runs of their own, one entry each in their state's directory (or a dead-letter node); their ids, in order. */
async function writeRuns(client: Coordination, runs: { state: RunState; end: number }[]): Promise<string[]> {
  const ops: Op[] = [];
  const ids = runs.map((r) => {
    const id = newRunId(r.end - 1000);
    const rec = record(id, r.state, r.end);
    ops.push({ op: 'create', path: layout.run(JOB, id), data: encodeRecord(rec) });
    ops.push(...(r.state === 'dead' ? [{ op: 'create', path: layout.deadRun(JOB, id) } as Op] : historyCreateOps(JOB, id, r.end, [rec])));
    return id;
  });
  await client.multi(ops);
  return ids;
}

/** A done bundle: its record, an entry per final state among its runs, its dead runs' dead-letter nodes. */
async function writeBundle(client: Coordination, states: RunState[], end: number): Promise<string> {
  const b = bundle(newBundleId(end - 1000), states, end);
  await client.multi([
    { op: 'create', path: layout.run(JOB, b.id), data: encodeBundle(b) },
    ...historyCreateOps(JOB, b.id, end, b.runs),
    ...b.runs.filter((r) => r.state === 'dead').map((r): Op => ({ op: 'create', path: layout.deadRun(JOB, r.id) })),
  ]);
  return b.id;
}

const entry = (end: number, id: string) => `h-${pad(end, 13)}-${id}`;

describeOnBackends('jobs: history by final state', (env) => {
  async function setup(): Promise<Coordination> {
    const client = await env.client();
    await publishJob(client, job.spec);
    return client;
  }

  it('history.keep bounds each state on its own: a flood of successes leaves the failures; counts follow', async () => {
    const client = await setup();
    const t0 = Date.now() - 60_000;
    const ok = await writeRuns(client, Array.from({ length: 6 }, (_, i) => ({ state: 'succeeded' as const, end: t0 + 100 + i })));
    const failed = await writeRuns(client, [0, 1, 2].map((i) => ({ state: 'failed' as const, end: t0 + i })));
    const cancelled = await writeRuns(client, [0, 1].map((i) => ({ state: 'cancelled' as const, end: t0 + 50 + i })));
    expect(await jobCounts(client, JOB)).toMatchObject({ succeeded: 6, failed: 3, cancelled: 2, finished: 11 });

    // keep 2: the newest two of each state, though every failure is older than every success.
    expect(await pruneHistory(client, JOB, { history: { keep: 2, maxAgeMs: DAY } }, Date.now())).toBe(4 + 1 + 0);
    expect(await jobCounts(client, JOB)).toMatchObject({ succeeded: 2, failed: 2, cancelled: 2, finished: 6 });
    expect((await listRunPage(client, JOB, { state: 'succeeded' })).runs.map((r) => r.id)).toEqual([ok[5], ok[4]]);
    expect((await listRunPage(client, JOB, { state: 'failed' })).runs.map((r) => r.id)).toEqual([failed[2], failed[1]]);
    expect((await listRunPage(client, JOB, { state: 'cancelled' })).runs.map((r) => r.id)).toEqual([cancelled[1], cancelled[0]]);
    // The merged view, newest first across the states.
    expect((await listRunPage(client, JOB, { state: 'finished', limit: 4 })).runs.map((r) => r.id)).toEqual([ok[5], ok[4], cancelled[1], cancelled[0]]);
    for (const id of [...ok.slice(0, 4), failed[0]] as string[]) expect(await client.exists(layout.run(JOB, id))).toBeNull();

    // Age bounds every state.
    expect(await pruneHistory(client, JOB, { history: { keep: 2, maxAgeMs: 1000 } }, Date.now())).toBe(6);
    expect(await jobCounts(client, JOB)).toMatchObject({ succeeded: 0, failed: 0, cancelled: 0, finished: 0 });
    expect(await client.children(layout.runs(JOB))).toEqual([]);
  });

  it("a bundle's entries keep its record until the last goes; then its dead-letter nodes go with it", async () => {
    const client = await setup();
    const t0 = Date.now() - 60_000;
    const b = await writeBundle(client, ['succeeded', 'failed', 'dead'], t0);
    const newer = await writeRuns(client, [1, 2].map((i) => ({ state: 'succeeded' as const, end: t0 + i })));
    expect((await client.children(layout.historyDir(JOB, 'succeeded'))).sort()).toEqual([entry(t0, b), ...newer.map((id, i) => entry(t0 + 1 + i, id))]);
    expect(await client.children(layout.historyDir(JOB, 'failed'))).toEqual([entry(t0, b)]);
    expect(await jobCounts(client, JOB)).toMatchObject({ succeeded: 3, failed: 1, cancelled: 0, dead: 1 });

    // keep 2: the bundle's succeeded entry goes; its failed entry keeps the record and the dead run.
    expect(await pruneHistory(client, JOB, { history: { keep: 2, maxAgeMs: DAY } }, Date.now())).toBe(1);
    expect(await client.exists(layout.run(JOB, b))).not.toBeNull();
    expect(await client.exists(layout.deadRun(JOB, bundledRunId(b, 2)))).not.toBeNull();
    expect((await listRunPage(client, JOB, { state: 'failed' })).runs.map((r) => r.id)).toEqual([bundledRunId(b, 1)]);
    expect((await listRunPage(client, JOB, { state: 'succeeded' })).runs.map((r) => r.id)).toEqual([...newer].reverse());

    // keep 0: the last entry takes the record and its dead-letter node.
    await pruneHistory(client, JOB, { history: { keep: 0, maxAgeMs: DAY } }, Date.now());
    expect(await client.exists(layout.run(JOB, b))).toBeNull();
    expect(await client.children(layout.dead(JOB))).toEqual([]);
    expect(await jobCounts(client, JOB)).toMatchObject({ succeeded: 0, failed: 0, cancelled: 0, dead: 0 });
  });

  it("a bundle's other entry pruned between the read and the write: the record still goes with the last one", async () => {
    const client = await setup();
    const t0 = Date.now() - 60_000;
    const b = await writeBundle(client, ['succeeded', 'cancelled'], t0);
    let raced = false;
    // Just before this pruner's multi for the succeeded entry (which checks the cancelled one is there),
    // another pruner takes the cancelled entry the same way: each leaves the record to the other.
    const racing = new Proxy(client, {
      get(target, prop) {
        if (prop === 'multi') {
          return async (ops: Op[]) => {
            if (!raced && ops.some((o) => o.op === 'check')) {
              raced = true;
              await client.multi([
                { op: 'delete', path: layout.historyEntry(JOB, 'cancelled', t0, b) },
                { op: 'check', path: layout.historyEntry(JOB, 'succeeded', t0, b), version: -1 },
              ]);
            }
            return target.multi(ops);
          };
        }
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    }) as Coordination;
    await pruneHistory(racing, JOB, { history: { keep: 0, maxAgeMs: DAY } }, Date.now());
    expect(raced).toBe(true);
    expect(await client.exists(layout.run(JOB, b))).toBeNull();
    for (const s of HISTORY_STATES) expect(await client.children(layout.historyDir(JOB, s))).toEqual([]);
  });

  it('entries of the layout before the split are sorted into their states by the pruner, then counted, listed and pruned', async () => {
    const client = await setup();
    const t0 = Date.now() - 60_000;
    // As an older cluster left them: records, and one entry per record directly under /history/<job>.
    const legacy = async (id: string, end: number, data: Buffer, dead: string[] = []): Promise<void> => {
      await client.multi([
        { op: 'create', path: layout.run(JOB, id), data },
        { op: 'create', path: layout.legacyHistoryEntry(JOB, entry(end, id)) },
        ...dead.map((d): Op => ({ op: 'create', path: layout.deadRun(JOB, d) })),
      ]);
    };
    const ok = 'r-legacy-ok';
    const ok2 = 'r-legacy-ok2';
    const failed = 'r-legacy-failed';
    const cancelled = 'r-legacy-cancelled';
    const retried = 'r-legacy-retried';
    await legacy(ok, t0 + 1, encodeRecord(record(ok, 'succeeded', t0 + 1)));
    await legacy(ok2, t0 + 2, encodeRecord(record(ok2, 'succeeded', t0 + 2)));
    await legacy(failed, t0 + 3, encodeRecord(record(failed, 'failed', t0 + 3)));
    await legacy(cancelled, t0 + 4, encodeRecord(record(cancelled, 'cancelled', t0 + 4)));
    await legacy(retried, t0 + 5, encodeRecord(record(retried, 'failed', t0 + 5)));
    const mixed = bundle(newBundleId(t0), ['succeeded', 'cancelled', 'dead'], t0 + 6);
    await legacy(mixed.id, t0 + 6, encodeBundle(mixed), [bundledRunId(mixed.id, 2)]);
    const allDead = bundle(newBundleId(t0), ['dead', 'dead'], t0 + 7);
    await legacy(allDead.id, t0 + 7, encodeBundle(allDead), [bundledRunId(allDead.id, 0), bundledRunId(allDead.id, 1)]);
    // An entry whose record is gone names nothing.
    await client.create(layout.legacyHistoryEntry(JOB, entry(t0 + 8, 'r-legacy-gone')));
    // Not listed or counted before they are sorted (the next prune, within the scheduler's interval).
    expect(await jobCounts(client, JOB)).toMatchObject({ succeeded: 0, failed: 0, cancelled: 0, finished: 0 });

    // The pruner's first multi runs just after an operator retried a run it read: that run is left alone.
    let raced = false;
    const racing = new Proxy(client, {
      get(target, prop) {
        if (prop === 'multi') {
          return async (ops: Op[]) => {
            if (!raced && ops.some((o) => o.op === 'delete' && o.path === layout.legacyHistoryEntry(JOB, entry(t0 + 5, retried)))) {
              raced = true;
              await retryRun(client, JOB, retried);
            }
            return target.multi(ops);
          };
        }
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    }) as Coordination;
    expect(await pruneHistory(racing, JOB, { history: { keep: 100, maxAgeMs: DAY } }, Date.now())).toBe(0);
    expect(raced).toBe(true);

    expect((await client.children(layout.history(JOB))).sort()).toEqual(['cancelled', 'failed', 'succeeded']);
    expect((await client.children(layout.historyDir(JOB, 'succeeded'))).sort()).toEqual([entry(t0 + 1, ok), entry(t0 + 2, ok2), entry(t0 + 6, mixed.id)]);
    expect(await client.children(layout.historyDir(JOB, 'failed'))).toEqual([entry(t0 + 3, failed)]);
    expect((await client.children(layout.historyDir(JOB, 'cancelled'))).sort()).toEqual([entry(t0 + 4, cancelled), entry(t0 + 6, mixed.id)]);
    expect(await jobCounts(client, JOB)).toMatchObject({ succeeded: 3, failed: 1, cancelled: 2, dead: 3, finished: 6 });
    expect((await getRun(client, JOB, retried)).state).toBe('queued');
    // A bundle of dead runs gets no entry, as one finishing now would not: its dead-letter nodes keep it.
    expect(await client.exists(layout.run(JOB, allDead.id))).not.toBeNull();
    expect((await listRunPage(client, JOB, { state: 'succeeded' })).runs.map((r) => r.id)).toEqual([bundledRunId(mixed.id, 0), ok2, ok]);
    expect((await listRunPage(client, JOB, { state: 'cancelled' })).runs.map((r) => r.id)).toEqual([bundledRunId(mixed.id, 1), cancelled]);

    // From now on they are pruned as any entry: keep 1 per state.
    await pruneHistory(client, JOB, { history: { keep: 1, maxAgeMs: DAY } }, Date.now());
    expect(await jobCounts(client, JOB)).toMatchObject({ succeeded: 1, failed: 1, cancelled: 1 });
    for (const id of [ok, ok2, cancelled]) expect(await client.exists(layout.run(JOB, id))).toBeNull();
    expect(await client.exists(layout.run(JOB, mixed.id))).not.toBeNull();
  });
});
