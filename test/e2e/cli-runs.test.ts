/**
 * The operator's CLI on both backends, as a user runs it (real processes):
 * `drover runs` pages every run once by state and cursor and acts on one;
 * `drover jobs` counts, pauses, resumes and removes (refused while a
 * worker serves the job, then nothing of it remains); `drover enqueue`
 * takes big inputs from @file and stdin; `drover tree ls -r` recurses;
 * `drover status` shows counts without reading runs.
 */
import { execFile } from 'node:child_process';
import net from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { describeOnBackends, type BackendEnv } from '../helpers/backends.ts';
import { defineJob } from '../../shared/jobs/define-job.ts';
import { enqueueWith } from '../../shared/jobs/enqueue.ts';
import { publishJob } from '../../shared/jobs/job-dirs.ts';
import { jobDirs, removeJob } from '../../shared/jobs/job-remove.ts';
import { layout } from '../../shared/jobs/layout.ts';
import { getRun, isPaused } from '../../shared/jobs/run-admin.ts';
import type { RunRecord } from '../../shared/jobs/job-types.ts';
import { waitForRun } from '../../shared/jobs/wait-for-run.ts';
import { NonRetryableError } from '../../shared/non-retryable-error.ts';
import { startWorker } from '../../worker/index.ts';

const ENTRY = path.resolve(import.meta.dirname, '..', '..', 'bin', 'drover.mjs');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `drover ARGS --connect … --root <the test's root>`, with `stdin` as its standard input. */
function drover(env: BackendEnv, args: string[], stdin = '', connect = env.backend().connectString): Promise<Result> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [ENTRY, ...args, '--connect', connect, '--root', env.root()],
      { timeout: 100_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    child.stdin?.end(stdin);
  });
}

function json<T>(res: Result): T {
  expect(res.code, res.stderr).toBe(0);
  return JSON.parse(res.stdout) as T;
}

const pages = defineJob<number, number>({ name: 'cli-pages', run: (_ctx, n) => n });
const served = defineJob<number, number>({ name: 'cli-served', run: (_ctx, n) => n });
const doomed = defineJob<number, number>({
  name: 'cli-doomed',
  run: () => {
    throw new NonRetryableError('never');
  },
});
const echo = defineJob<unknown, null>({ name: 'cli-echo', run: () => null });

/** A loopback proxy to one member that counts the bytes the server sends back. */
async function countingProxy(env: BackendEnv): Promise<{ address: string; received: () => number }> {
  const target = env.backend().members[0] as { host: string; port: number };
  let received = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((inbound) => {
    const outbound = net.connect(target.port, target.host);
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('error', () => s.destroy());
    }
    outbound.on('data', (chunk: Buffer) => (received += chunk.length));
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  env.defer(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return { address: `127.0.0.1:${(server.address() as net.AddressInfo).port}`, received: () => received };
}

/** A worker on a client of its own: closing that client ends its session, so its ephemerals go at once. */
async function workerFor(env: BackendEnv, jobs: Parameters<typeof startWorker>[0]['jobs']) {
  const client = await env.client();
  const worker = await startWorker({ client, jobs, name: 'cli-runs' });
  env.defer(() => worker.close({ graceMs: 0 }));
  return {
    worker,
    stop: async () => {
      await worker.close({ graceMs: 0 });
      await client.close();
    },
  };
}

describeOnBackends('drover CLI: runs, jobs, enqueue input, tree ls -r, status', (env) => {
  it('runs list pages every waiting run once; get, cancel and retry act on one', { timeout: 120_000 }, async () => {
    const client = await env.client();
    await publishJob(client, pages.spec);
    const waiting = await enqueueWith(client, 'cli-pages', Array.from({ length: 7 }, (_, i) => ({ input: i })));
    const delayed = await enqueueWith(client, 'cli-pages', [0, 1].map((i) => ({ input: i, opts: { delayMs: 3_600_000 } })));

    // --json: follow `next` to the end.
    const listed: string[] = [];
    let cursor: string | null = null;
    let rounds = 0;
    do {
      const page: { runs: RunRecord[]; next: string | null } = json(await drover(env, ['runs', 'list', 'cli-pages', '--limit', '3', '--json', ...(cursor ? ['--cursor', cursor] : [])]));
      listed.push(...page.runs.map((r) => r.id));
      cursor = page.next;
    } while (cursor !== null && ++rounds < 10);
    expect(listed).toEqual(waiting);
    // queued, the state the rows show, lists the same runs as waiting.
    const queued: { runs: RunRecord[] } = json(await drover(env, ['runs', 'list', 'cli-pages', '--state', 'queued', '--json']));
    expect(queued.runs.map((r) => r.id)).toEqual(waiting);

    // The table: a header, the page's runs, and the command for the next page.
    const table = await drover(env, ['runs', 'list', 'cli-pages', '--limit', '3']);
    expect(table.code, table.stderr).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^run\s+state\s+attempt\s+enqueued\s+started\s+finished\s+worker\s+error$/);
    expect(lines.slice(2, 5).map((l) => l.split(/\s+/)[0])).toEqual(waiting.slice(0, 3));
    expect(lines[2]).toMatch(/queued\s+0\/\d+\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/);
    const next = /^next page: drover runs list cli-pages --state waiting --limit 3 --cursor (\S+)$/.exec(lines[5] ?? '');
    expect(next, table.stdout).not.toBeNull();
    const second: { runs: RunRecord[] } = json(await drover(env, ['runs', 'list', 'cli-pages', '--limit', '3', '--cursor', next?.[1] as string, '--json']));
    expect(second.runs.map((r) => r.id)).toEqual(waiting.slice(3, 6));

    const late: { runs: RunRecord[]; next: null } = json(await drover(env, ['runs', 'list', 'cli-pages', '--state', 'delayed', '--json']));
    // By due time: the two are due in the same millisecond, so by id.
    expect(late.runs.map((r) => r.id)).toEqual([...delayed].sort());
    expect(late.next).toBeNull();

    const [first] = waiting as [string];
    const pretty = await drover(env, ['runs', 'get', 'cli-pages', first]);
    expect(pretty.stdout.split('\n').length).toBeGreaterThan(5);
    expect(JSON.parse(pretty.stdout)).toMatchObject({ id: first, state: 'queued', input: 0 });
    expect(json<RunRecord>(await drover(env, ['runs', 'get', 'cli-pages', first, '--json'])).id).toBe(first);

    const cancel = await drover(env, ['runs', 'cancel', 'cli-pages', first]);
    expect(cancel.stdout).toBe(`cancelled ${first}\n`);
    expect((await getRun(client, 'cli-pages', first)).state).toBe('cancelled');
    const cancelled: { runs: RunRecord[] } = json(await drover(env, ['runs', 'list', 'cli-pages', '--state', 'cancelled', '--json']));
    expect(cancelled.runs.map((r) => r.id)).toEqual([first]);
    const again = await drover(env, ['runs', 'cancel', 'cli-pages', first]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/only queued, delayed or active.*\[DROVER_RUN_STATE\]/);

    expect(json<{ outcome: string }>(await drover(env, ['runs', 'retry', 'cli-pages', first, '--json']))).toEqual({ job: 'cli-pages', run: first, outcome: 'queued' });
    expect((await getRun(client, 'cli-pages', first)).state).toBe('queued');
    const notDone = await drover(env, ['runs', 'retry', 'cli-pages', first]);
    expect(notDone.code).toBe(1);
    expect(notDone.stderr).toMatch(/\[DROVER_RUN_STATE\]/);

    const missing = await drover(env, ['runs', 'get', 'cli-pages', 'r-nope']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/\[DROVER_RUN_NOT_FOUND\]/);
    const unknown = await drover(env, ['runs', 'list', 'cli-nope']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no job 'cli-nope'.*\[DROVER_UNKNOWN_JOB\]/);
    const badState = await drover(env, ['runs', 'list', 'cli-pages', '--state', 'sleeping']);
    expect(badState.code).toBe(2);
    expect(badState.stderr).toMatch(/state must be one of waiting, active/);
  });

  it('jobs list, pause, resume; remove is refused while a worker serves the job, then leaves no node of it', { timeout: 120_000 }, async () => {
    const client = await env.client();
    const { worker, stop } = await workerFor(env, [served, doomed]);
    const ok = (await enqueueWith(client, 'cli-served', [{ input: 1 }]))[0] as string;
    const dead = (await enqueueWith(client, 'cli-doomed', [{ input: 1 }]))[0] as string;
    expect((await waitForRun(client, 'cli-served', ok, { timeoutMs: 20_000 })).state).toBe('succeeded');
    expect((await waitForRun(client, 'cli-doomed', dead, { timeoutMs: 20_000 })).state).toBe('dead');

    const deadPage: { runs: RunRecord[] } = json(await drover(env, ['runs', 'list', 'cli-doomed', '--state', 'dead', '--json']));
    expect(deadPage.runs.map((r) => [r.id, r.error?.code])).toEqual([[dead, 'DROVER_NON_RETRYABLE']]);
    const succeeded = await drover(env, ['runs', 'list', 'cli-served', '--state', 'succeeded']);
    expect(succeeded.stdout).toMatch(new RegExp(`${ok}\\s+succeeded\\s+1/\\d+.*${worker.id}`));

    type Listed = { jobs: { job: string; workers: string[]; waiting: number; succeeded: number; failed: number; cancelled: number; dead: number; finished: number; paused: boolean }[] };
    const listed = json<Listed>(await drover(env, ['jobs', 'list', '--json']));
    expect(listed.jobs.map((j) => j.job)).toEqual(['cli-doomed', 'cli-served']);
    expect(listed.jobs[0]).toMatchObject({ workers: [worker.id], succeeded: 0, failed: 0, cancelled: 0, dead: 1, finished: 0, paused: false });
    expect(listed.jobs[1]).toMatchObject({ workers: [worker.id], waiting: 0, succeeded: 1, failed: 0, cancelled: 0, finished: 1 });
    const table = await drover(env, ['jobs', 'list']);
    expect(table.stdout).toMatch(/^job\s+workers\s+waiting\s+active\s+delayed\s+succeeded\s+failed\s+cancelled\s+dead\s+paused\n/);
    expect(table.stdout).toMatch(/cli-served\s+1\s+0\s+0\s+0\s+1\s+0\s+0\s+0\n/);

    expect((await drover(env, ['jobs', 'pause', 'cli-served'])).code).toBe(0);
    expect(await isPaused(client, 'cli-served')).toBe(true);
    expect(json<Listed>(await drover(env, ['jobs', 'list', '--json'])).jobs[1]?.paused).toBe(true);
    expect(json<{ paused: boolean }>(await drover(env, ['jobs', 'resume', 'cli-served', '--json'])).paused).toBe(false);
    expect(await isPaused(client, 'cli-served')).toBe(false);
    expect((await drover(env, ['jobs', 'pause', 'cli-nope'])).stderr).toMatch(/\[DROVER_UNKNOWN_JOB\]/);

    // Nodes of every kind: a waiting run (paused, so it stays), a barrier run group, a schedule, partitions.
    await client.create(layout.jobPaused('cli-served'));
    await enqueueWith(client, 'cli-served', [{ input: 2 }, { input: 3, opts: { group: { id: 'g1', size: 2 } } }]);
    await client.ensurePath(layout.fire('cli-served', 1_000));
    await client.ensurePath(layout.partitionAssignment('cli-served'));
    expect(await client.exists(layout.runGroup('cli-served', 'g1'))).not.toBeNull();

    const refused = await drover(env, ['jobs', 'remove', 'cli-served']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(new RegExp(`served by live workers \\(${worker.id}\\).*\\[DROVER_JOB_IN_USE\\]`));
    expect(await client.exists(layout.job('cli-served'))).not.toBeNull();

    await stop();
    const removed = await drover(env, ['jobs', 'remove', 'cli-served']);
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toMatch(/^removed cli-served \(\d+ znodes\)\n$/);
    for (const dir of jobDirs('cli-served')) expect(await client.exists(dir), dir).toBeNull();
    expect(await client.exists(layout.runGroup('cli-served', 'g1'))).toBeNull();
    expect((await client.children(layout.jobs)).sort()).toEqual(['cli-doomed']);
    expect((await drover(env, ['jobs', 'remove', 'cli-served'])).stderr).toMatch(/\[DROVER_UNKNOWN_JOB\]/);

    // A run left in flight (its worker died before the scheduler re-queued it): refused unless --force.
    await client.create(layout.inflightRun('cli-doomed', dead));
    const active = await drover(env, ['jobs', 'remove', 'cli-doomed']);
    expect(active.code).toBe(1);
    expect(active.stderr).toMatch(/1 active runs.*\[DROVER_JOB_IN_USE\]/);
    expect(json<{ removed: boolean }>(await drover(env, ['jobs', 'remove', 'cli-doomed', '--force', '--json'])).removed).toBe(true);
    for (const dir of jobDirs('cli-doomed')) expect(await client.exists(dir), dir).toBeNull();
    expect((await drover(env, ['jobs', 'list'])).stdout).toMatch(/^no jobs in /);
  });

  it("removeJob tells a job's run groups from a look-alike job's", async () => {
    const client = await env.client();
    const a = defineJob({ name: 'cli-a', run: () => null });
    const ab = defineJob({ name: 'cli-a-b', run: () => null });
    await publishJob(client, a.spec);
    await publishJob(client, ab.spec);
    // /barriers/cli-a-b-x twice over: job cli-a's group b-x, or job cli-a-b's group x.
    await enqueueWith(client, 'cli-a-b', [{ input: 1, opts: { group: { id: 'x', size: 2 } } }]);
    await enqueueWith(client, 'cli-a', [{ input: 1, opts: { group: { id: 'y', size: 2 } } }]);
    await removeJob(client, 'cli-a');
    expect(await client.exists(layout.runGroup('cli-a', 'y'))).toBeNull();
    expect(await client.exists(layout.runGroup('cli-a-b', 'x'))).not.toBeNull();
  });

  it('enqueue takes its input from @file and from stdin, past what an argument can carry; the payload limit still holds', { timeout: 120_000 }, async () => {
    const client = await env.client();
    await publishJob(client, echo.spec);
    const dir = mkdtempSync(path.join(tmpdir(), 'drover-cli-'));
    env.defer(() => rmSync(dir, { recursive: true, force: true }));
    const big = { blob: 'x'.repeat(200_000) };
    writeFileSync(path.join(dir, 'big.json'), JSON.stringify(big, null, 2));
    const fromFile = await drover(env, ['enqueue', 'cli-echo', `@${path.join(dir, 'big.json')}`]);
    expect(fromFile.code, fromFile.stderr).toBe(0);
    expect((await getRun(client, 'cli-echo', fromFile.stdout.trim())).input).toEqual(big);

    const fromStdin = await drover(env, ['enqueue', 'cli-echo', '-'], JSON.stringify(big));
    expect(fromStdin.code, fromStdin.stderr).toBe(0);
    expect((await getRun(client, 'cli-echo', fromStdin.stdout.trim())).input).toEqual(big);
    const small = await drover(env, ['enqueue', 'cli-echo', '-'], '{"n": 1}\n');
    expect((await getRun(client, 'cli-echo', small.stdout.trim())).input).toEqual({ n: 1 });

    writeFileSync(path.join(dir, 'huge.json'), JSON.stringify({ blob: 'x'.repeat(1024 * 1024) }));
    const huge = await drover(env, ['enqueue', 'cli-echo', `@${path.join(dir, 'huge.json')}`]);
    expect(huge.code).toBe(1);
    expect(huge.stderr).toMatch(/\[DROVER_PAYLOAD_TOO_LARGE\]/);
    const notJson = await drover(env, ['enqueue', 'cli-echo', '-'], '{oops');
    expect(notJson.stderr).toMatch(/the input in standard input is not JSON.*\[DROVER_INVALID_PAYLOAD\]/);
    const noFile = await drover(env, ['enqueue', 'cli-echo', `@${path.join(dir, 'nope.json')}`]);
    expect(noFile.code).toBe(2);
    expect(noFile.stderr).toMatch(/cannot read the input file .*nope\.json: ENOENT/);
    expect(await client.children(layout.runs('cli-echo'))).toHaveLength(3);
  });

  it('tree ls -r prints the subtree depth first, sorted, one full path a line', async () => {
    const client = await env.client();
    for (const p of ['/t/b/c', '/t/b/a', '/t/a', '/t/b/a/z']) await client.ensurePath(p);
    const res = await drover(env, ['tree', 'ls', '-r', '/t']);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toBe('/t\n/t/a\n/t/b\n/t/b/a\n/t/b/a/z\n/t/b/c\n');
    expect((await drover(env, ['tree', 'ls', '-R', '/t/b/a'])).stdout).toBe('/t/b/a\n/t/b/a/z\n');
    expect((await drover(env, ['tree', 'ls', '/t'])).stdout).toBe('[a, b]\n');
  });

  it('status shows workers and queue counts without reading runs: 5,000 waiting show as 5000', { timeout: 120_000 }, async () => {
    const client = await env.client();
    const { worker } = await workerFor(env, [served]);
    await publishJob(client, pages.spec);
    for (let i = 0; i < 5; i++) await enqueueWith(client, 'cli-pages', Array.from({ length: 1000 }, (_, k) => ({ input: i * 1000 + k })));
    const res = await drover(env, ['status']);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/Ensemble/);
    expect(res.stdout).toContain(worker.id);
    expect(res.stdout).toMatch(/^job\s+waiting\s+active\s+delayed\s+succeeded\s+failed\s+cancelled\s+dead\s+paused$/m);
    expect(res.stdout).toMatch(/^cli-pages\s+5000(\s+0){6}$/m);
    type Status = { workers: { name: string; jobs: string[] }[]; queues: { job: string; depth: number }[]; scheduler: { candidates: string[] } };
    const status = json<Status>(await drover(env, ['status', '--json']));
    expect(status.queues.find((q) => q.job === 'cli-pages')?.depth).toBe(5000);
    expect(status.workers.map((w) => [w.name, w.jobs])).toEqual([[worker.id, ['cli-served']]]);
    expect(Array.isArray(status.scheduler.candidates)).toBe(true);

    // What status reads is what it shows: far below the 5,000 records (each over 100 bytes).
    const proxy = await countingProxy(env);
    const counted = json<Status>(await drover(env, ['status', '--json'], '', proxy.address));
    expect(counted.queues.find((q) => q.job === 'cli-pages')?.depth).toBe(5000);
    expect(proxy.received()).toBeGreaterThan(0);
    expect(proxy.received()).toBeLessThan(50_000);
  });
});
