/**
 * History pruning racing an operator's retry: the pruner read a run's
 * history entry, then the run was retried (its entry deleted, its record
 * queued again) before the pruner's multi ran. The run must survive: its
 * record is the retry's now. (The pruner's fallback used to delete records
 * unconditionally.)
 */
import { expect, it } from 'vitest';
import type { Coordination, Op } from '../../shared/client/coordination.ts';
import { defineJob } from '../../shared/jobs/define-job.ts';
import { ensureJobDirs, publishJob } from '../../shared/jobs/job-dirs.ts';
import type { RunRecord } from '../../shared/jobs/job-types.ts';
import { layout } from '../../shared/jobs/layout.ts';
import { pruneHistory } from '../../shared/jobs/recovery.ts';
import { getRun, retryRun } from '../../shared/jobs/run-admin.ts';
import { describeOnBackends } from '../helpers/backends.ts';

const job = defineJob({ name: 'prune-race', run: () => null, retries: 1 });

describeOnBackends('jobs: history pruning racing a retry', (env) => {
  it('a run retried after the pruner listed it keeps its record; the others are pruned', async () => {
    const client = await env.client();
    await publishJob(client, job.spec);
    await ensureJobDirs(client, 'prune-race');
    const t0 = Date.now() - 60_000;
    const ids = ['r-prune-a', 'r-prune-b', 'r-prune-c'];
    for (const [k, id] of ids.entries()) {
      const record: RunRecord = { v: 1, id, job: 'prune-race', state: 'failed', input: k, attempt: 1, maxAttempts: 2, priority: 5, enqueuedAt: t0, finishedAt: t0 + k, error: { code: 'E', message: 'no' } };
      await client.multi([
        { op: 'create', path: layout.run('prune-race', id), data: Buffer.from(JSON.stringify(record)) },
        { op: 'create', path: layout.historyEntry('prune-race', 'failed', t0 + k, id) },
      ]);
    }
    // The pruner's first multi runs just after an operator retried run b.
    let raced = false;
    const racing = new Proxy(client, {
      get(target, prop) {
        if (prop === 'multi') {
          return async (ops: Op[]) => {
            if (!raced && ops.some((o) => o.op === 'delete' && o.path.startsWith(layout.history('prune-race')))) {
              raced = true;
              await retryRun(client, 'prune-race', 'r-prune-b');
            }
            return target.multi(ops);
          };
        }
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    }) as Coordination;
    // keep 0: every entry is beyond what history keeps.
    await pruneHistory(racing, 'prune-race', { history: { keep: 0, maxAgeMs: 3_600_000 } }, Date.now());
    expect(raced).toBe(true);
    expect((await getRun(client, 'prune-race', 'r-prune-b')).state).toBe('queued');
    for (const id of ['r-prune-a', 'r-prune-c']) expect(await client.exists(layout.run('prune-race', id))).toBeNull();
    expect(await client.children(layout.historyDir('prune-race', 'failed'))).toEqual([]);
  });
});
