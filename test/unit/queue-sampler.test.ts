/**
 * Finish rates from the counters history keeps anyway (queue-sampler.ts):
 * with history split into a directory per final state, the runs finished
 * between two samples are the creates of every state directory and of dead
 * — (Δcversion + ΔnumChildren) / 2 summed — whatever pruning deleted
 * meanwhile. The client is a stand-in that answers the O(1) reads.
 */
import { describe, expect, it } from 'vitest';
import type { Coordination, Stat } from '../../shared/client/coordination.ts';
import { QueueSampler } from '../../dashboard/live/queue-sampler.ts';
import { MetricsHistory } from '../../dashboard/model/metrics-history.ts';
import { layout } from '../../shared/jobs/layout.ts';

function fakeClient(dirs: Map<string, { n: number; cv: number }>): Coordination {
  const client = {
    children: async (path: string) => (path === layout.jobs ? ['j'] : []),
    exists: async (path: string) => {
      const d = dirs.get(path);
      return d ? ({ numChildren: d.n, cversion: d.cv } as Stat) : null;
    },
  };
  return client as unknown as Coordination;
}

describe('queue sampler: finish rate over history state directories', () => {
  it('counts creates in every state directory and in dead, not the prunes', async () => {
    const dirs = new Map([
      [layout.historyDir('j', 'succeeded'), { n: 5, cv: 10 }],
      [layout.historyDir('j', 'failed'), { n: 1, cv: 2 }],
      [layout.historyDir('j', 'cancelled'), { n: 0, cv: 0 }],
      [layout.dead('j'), { n: 0, cv: 0 }],
    ]);
    const sampler = new QueueSampler(fakeClient(dirs), { spec: () => undefined, leases: () => 0 }, new MetricsHistory());
    const first = await sampler.sample(1_000);
    expect(first.queues[0]).toMatchObject({ job: 'j', history: 6, succeeded: 5, failed: 1, cancelled: 0, dead: 0 });
    // In one second: 3 succeeded and 1 old one pruned; the failed one pruned; 1 cancelled; 1 dead.
    dirs.set(layout.historyDir('j', 'succeeded'), { n: 7, cv: 14 });
    dirs.set(layout.historyDir('j', 'failed'), { n: 0, cv: 3 });
    dirs.set(layout.historyDir('j', 'cancelled'), { n: 1, cv: 1 });
    dirs.set(layout.dead('j'), { n: 1, cv: 1 });
    const next = await sampler.sample(2_000);
    expect(next.sample.throughput).toBe(5);
    expect(next.queues[0]).toMatchObject({ history: 8, succeeded: 7, failed: 0, cancelled: 1, dead: 1, finishedPerMin: 300 });
    expect(next.marks.get('j')?.finished).not.toBe(first.marks.get('j')?.finished);
  });
});
