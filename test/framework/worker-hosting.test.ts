/**
 * What the runtime hosts besides queued runs, on both backends: partitioned
 * jobs (through D's partition member, via the PartitionHost seam) spread
 * over two workers with one owner per partition, and the `drover worker`
 * command's help and errors.
 */
import { expect, it } from 'vitest';
import { describeOnBackends, until } from '../helpers/backends.ts';
import { defineJob } from '../../shared/jobs/define-job.ts';
import { layout } from '../../shared/jobs/layout.ts';
import { startWorker } from '../../worker/runtime.ts';
import { run as workerCommand } from '../../bin/worker-command.ts';

const owning = new Map<number, string>();
let overlaps = 0;

const consumer = defineJob<null, null>({
  name: 'consumer',
  partitions: 4,
  run: async (ctx) => {
    const p = ctx.partition!;
    if (owning.has(p)) overlaps++;
    owning.set(p, ctx.fence);
    await new Promise<void>((resolve) => {
      if (ctx.signal.aborted) resolve();
      else ctx.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    owning.delete(p);
    return null;
  },
});

async function captured(fn: () => Promise<number>): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const wOut = process.stdout.write.bind(process.stdout);
  const wErr = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string) => out.push(String(s)) > 0) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => err.push(String(s)) > 0) as typeof process.stderr.write;
  try {
    const code = await fn();
    return { code, out: out.join(''), err: err.join('') };
  } finally {
    process.stdout.write = wOut;
    process.stderr.write = wErr;
  }
}

describeOnBackends('worker: hosting', (env) => {
  it('runs each partition of a partitioned job on exactly one of two workers', async () => {
    owning.clear();
    overlaps = 0;
    const opts = { connect: env.backend().connectString, root: env.root(), jobs: [consumer], schedule: false, sessionTimeoutMs: 4_000 };
    const a = await startWorker(opts);
    env.defer(() => a.close({ graceMs: 500 }));
    await until('worker a to own all 4', () => owning.size === 4);
    const b = await startWorker(opts);
    env.defer(() => b.close({ graceMs: 500 }));
    const client = await env.client();
    await until('ownership split 2/2', async () => {
      const owners = await Promise.all([0, 1, 2, 3].map((p) => client.get(layout.partitionOwner('consumer', p)).then((r) => r.data.toString(), () => null)));
      const byA = owners.filter((o) => o?.includes(a.id)).length;
      const byB = owners.filter((o) => o?.includes(b.id)).length;
      return byA === 2 && byB === 2 && owning.size === 4;
    });
    expect(overlaps).toBe(0);
    expect([...owning.values()].every((f) => /^consumer:p\d:g\d+$/.test(f))).toBe(true);
  });

  it('drover worker: --help, and errors that say what to do', async () => {
    const help = await captured(() => workerCommand(['--help']));
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/--jobs FILE/);
    const none = await captured(() => workerCommand(['--connect', env.backend().connectString]));
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/give at least one job file/);
    const missing = await captured(() => workerCommand(['--jobs', '/nonexistent/jobs.ts']));
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/does not exist/);
    const badFlag = await captured(() => workerCommand(['--jobs', 'x.ts', '--bogus']));
    expect(badFlag.code).toBe(2);
    const badConc = await captured(() => workerCommand(['--jobs', 'test/framework/fixtures/worker-process-jobs.ts', '--concurrency', '0']));
    expect(badConc.err).toMatch(/--concurrency must be an integer >= 1/);
  });
});
