/** The dashboard's pure parts: 4lw parsing, connect strings, metrics, cron preview, the cluster view. */
import { mirrorTree } from '../helpers/mirror-tree.ts';
import { describe, expect, it } from 'vitest';
import { parseConnectString } from '../../dashboard/ensemble/connect-string.ts';
import { parseMntr, parseSrvr } from '../../dashboard/ensemble/four-letter-parse.ts';
import { runFromRecord, structureView } from '../../dashboard/model/cluster-view.ts';
import { MetricsHistory } from '../../dashboard/model/metrics-history.ts';
import { nextFireTimes } from '../../dashboard/model/schedule-preview.ts';
import { isDroverError } from '../../shared/errors.ts';
import { decodeStored, encodeBundle } from '../../shared/jobs/run-codec.ts';
import { runsOf } from '../../shared/jobs/run-lookup.ts';
import type { BundleRecord, RunRecord } from '../../shared/jobs/job-types.ts';

const tree = mirrorTree;

describe('four-letter words', () => {
  it('reads srvr and mntr', () => {
    const srvr = parseSrvr('Zookeeper version: 3.8.4-abc, built on 2024\nLatency min/avg/max: 0/0.5123/7\nReceived: 120\nSent: 119\nConnections: 3\nOutstanding: 0\nZxid: 0x10000002a\nMode: leader\nNode count: 42\n');
    expect(srvr).toMatchObject({ mode: 'leader', zxid: '0x10000002a', connections: 3, nodeCount: 42, latency: { min: 0, avg: 0.5123, max: 7 }, packetsReceived: 120 });
    const both = parseMntr('zk_version\t3.8.4\nzk_server_state\tleader\nzk_watch_count\t9\nzk_ephemerals_count\t4\nzk_followers\t2\nzk_synced_followers\t2\n', srvr);
    expect(both).toMatchObject({ mode: 'leader', watchCount: 9, ephemerals: 4, followers: 2, syncedFollowers: 2, zxid: '0x10000002a' });
    expect(parseSrvr('This ZooKeeper instance is not currently serving requests\n').mode).toBe('unknown');
  });

  it('splits connect strings, with a chroot, IPv6 and default ports', () => {
    expect(parseConnectString('a:1,b:2/drover')).toEqual([{ host: 'a', port: 1 }, { host: 'b', port: 2 }]);
    expect(parseConnectString('[::1]:2182,zk')).toEqual([{ host: '::1', port: 2182 }, { host: 'zk', port: 2181 }]);
    for (const bad of ['', 'a:0', 'a:99999', 'a:b:c']) expect(() => parseConnectString(bad), bad).toThrowError(expect.objectContaining({ code: 'DROVER_CONFIG' }));
  });
});

describe('metrics history', () => {
  it('turns finishes since the last sample into throughput, starts at zero, and stays bounded', () => {
    const m = new MetricsHistory(3);
    expect(m.record(0, { depth: 5, inflight: 1, finished: 2 }).throughput).toBe(0);
    expect(m.record(1000, { depth: 4, inflight: 1, finished: 1 }).throughput).toBe(1);
    expect(m.record(3000, { depth: 0, inflight: 0, finished: 4 }).throughput).toBe(2);
    expect(m.record(4000, { depth: 0, inflight: 0, finished: -3 }).throughput).toBe(0);
    expect(m.series().map((s) => s.at)).toEqual([1000, 3000, 4000]);
  });

  it('gives per-job rates over the last minute, not counting what was there at the start', () => {
    const m = new MetricsHistory();
    m.record(0, { depth: 0, inflight: 0, finished: 0 });
    m.record(30_000, { depth: 0, inflight: 0, finished: 1, perJob: new Map([['a', { enqueued: 0, finished: 1 }], ['b', { enqueued: 2, finished: 0 }]]) });
    m.record(60_000, { depth: 0, inflight: 0, finished: 1, perJob: new Map([['a', { enqueued: 1, finished: 0 }], ['b', { enqueued: 0, finished: 1 }]]) });
    const rates = m.rates();
    expect(rates.get('a')).toEqual({ enqueuedPerMin: 1, finishedPerMin: 1 });
    expect(rates.get('b')).toEqual({ enqueuedPerMin: 2, finishedPerMin: 1 });
    // A minute later with nothing new, the first samples have left the window.
    m.record(125_000, { depth: 0, inflight: 0, finished: 0 });
    expect(m.rates().get('a') ?? { enqueuedPerMin: 0, finishedPerMin: 0 }).toEqual({ enqueuedPerMin: 0, finishedPerMin: 0 });
  });
});

describe('schedule preview', () => {
  it('gives the next five fire times in the zone, strictly increasing', () => {
    const now = Date.UTC(2026, 0, 1, 10, 7, 30);
    expect(nextFireTimes('*/15 * * * *', { now })).toEqual([15, 30, 45, 60, 75].map((m) => Date.UTC(2026, 0, 1, 10, 0) + m * 60_000));
    const ny = nextFireTimes('0 9 * * *', { now, timezone: 'America/New_York' });
    expect(ny[0]).toBe(Date.UTC(2026, 0, 1, 14, 0));
    expect(ny).toHaveLength(5);
    const err = (() => {
      try {
        nextFireTimes('not cron', { now });
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(isDroverError(err, 'DROVER_INVALID_SCHEDULE')).toBe(true);
  });
});

describe('cluster view', () => {
  const t = tree({
    '/workers/w-0000000002': { v: 1, host: 'b', pid: 2, jobs: ['img'], capacity: 2, startedAt: 1 },
    '/workers/w-0000000001': { v: 1, host: 'a', pid: 1, jobs: ['img'], capacity: 4, startedAt: 1 },
    '/workers/junk': 'not a worker',
    '/jobs/img': { v: 1, name: 'img', retries: 0, concurrency: 1, priority: 5, history: { keep: 10, maxAgeMs: 1 } },
    '/jobs/img/paused': undefined,
    '/jobs/nightly': { v: 1, name: 'nightly', schedule: '0 3 * * *', retries: 0, concurrency: 1, priority: 5, history: { keep: 10, maxAgeMs: 1 } },
    '/queues/img/p5/items/i-0000000000000003': 'r-c',
    '/queues/img/p1/items/i-0000000000000000': 'r-d',
    '/queues/img/items/i-0000000000000000': 'r-e',
    '/queues/img/p5/tail': '4',
    '/leases/img/r-a': { worker: 'w-0000000001', attempt: 2, fence: 'x', at: 1 },
    '/inflight/img/r-a': undefined,
    '/runs/img/r-a': { v: 1, id: 'r-a', job: 'img', state: 'active', attempt: 2, maxAttempts: 3, enqueuedAt: 5, startedAt: 6, progress: { pct: 140, message: 'm' } },
    '/runs/img/r-b': { v: 1, id: 'r-b', job: 'img', state: 'succeeded', attempt: 1, enqueuedAt: 1, finishedAt: 9 },
    '/runs/img/r-broken': '{not json',
    '/history/img/failed/h-0000000000004-r-old': { v: 1, id: 'r-old', job: 'img', state: 'failed', error: { code: 'DROVER_HANDLER_FAILED', message: 'boom' }, finishedAt: 4 },
    '/schedules/nightly/fires/f-0000000001000': undefined,
    '/barriers/img-g1': { v: 1, size: 3, arrived: [{ runId: 'r-1', priority: 5 }], released: false, left: 0 },
  });

  it('joins workers with their leases, sorted by join sequence', () => {
    const view = structureView(t, Date.UTC(2026, 0, 1));
    expect(view.workers.map((w) => w.name)).toEqual(['w-0000000001', 'w-0000000002']);
    expect(view.workers[0]).toMatchObject({ host: 'a', running: [{ job: 'img', runId: 'r-a', attempt: 2 }], load: 0.25 });
  });

  it('shows a record as a table row: progress clamped, error kept', () => {
    const row = runFromRecord('img', 'r-a', '/runs/img/r-a', { v: 1, id: 'r-a', job: 'img', state: 'failed', progress: { pct: 140, message: 'm' }, error: { code: 'DROVER_HANDLER_FAILED', message: 'boom' } });
    expect(row).toMatchObject({ id: 'r-a', state: 'failed', progress: { pct: 100, message: 'm' }, error: { code: 'DROVER_HANDLER_FAILED', message: 'boom' }, path: '/runs/img/r-a' });
  });

  it('shows schedules from the spec with the last fire record and the next fire times', () => {
    const [s] = structureView(t, Date.UTC(2026, 0, 1, 12)).schedules;
    expect(s).toMatchObject({ job: 'nightly', cron: '0 3 * * *', timezone: 'UTC', lastFireTime: 1000 });
    expect(s?.nextFireTimes[0]).toBe(Date.UTC(2026, 0, 2, 3));
  });

  it('reads barrier run groups', () => {
    expect(structureView(t, 0).barriers).toEqual([{ group: 'img-g1', nodes: [], size: 3, arrived: 1, left: 0, released: false }]);
  });
});

describe('cluster view of bundles', () => {
  // Bundle entries are stored without v/job/priority/enqueuedAt (encodeBundle): the view fills them in.
  const B = 'b-00000000a-aaaaaaaa';
  const D = 'b-00000000b-bbbbbbbb';
  const t = tree({
    '/jobs/tiny': { v: 1, name: 'tiny', retries: 0, concurrency: 1, priority: 5, history: { keep: 10, maxAgeMs: 1 }, bundle: 4 },
    [`/queues/tiny/p5/items/i-0000000000000000`]: B,
    '/queues/tiny/p5/items/i-0000000000000001': 'r-solo',
    [`/runs/tiny/${B}`]: {
      v: 1, kind: 'bundle', id: B, job: 'tiny', state: 'queued', priority: 5, enqueuedAt: 7,
      runs: [
        { id: `${B}.0`, state: 'queued', input: 0, attempt: 0, maxAttempts: 1 },
        { id: `${B}.1`, state: 'cancelled', input: 1, attempt: 0, maxAttempts: 1, finishedAt: 8 },
        { id: `${B}.2`, state: 'queued', input: 2, attempt: 0, maxAttempts: 1 },
      ],
    },
    [`/runs/tiny/${D}`]: {
      v: 1, kind: 'bundle', id: D, job: 'tiny', state: 'done', priority: 5, enqueuedAt: 3, finishedAt: 9,
      runs: [
        { id: `${D}.0`, state: 'succeeded', input: 0, attempt: 1, maxAttempts: 1, finishedAt: 9, result: 10 },
        { id: `${D}.1`, state: 'dead', input: 1, attempt: 1, maxAttempts: 1, finishedAt: 9 },
      ],
    },
    [`/history/tiny/succeeded/h-0000000000009-${D}`]: undefined,
    [`/dead/tiny/${D}.1`]: undefined,
    '/runs/tiny/r-solo': { v: 1, id: 'r-solo', job: 'tiny', state: 'queued', attempt: 0, enqueuedAt: 5 },
    '/workers/w-0000000001': { v: 1, host: 'a', pid: 1, jobs: ['tiny'], capacity: 4, startedAt: 1 },
    '/leases/tiny/b-00000000c-cccccccc': { worker: 'w-0000000001', attempt: 1, fence: 'x', at: 1 },
    '/inflight/tiny/b-00000000c-cccccccc': undefined,
    '/runs/tiny/b-00000000c-cccccccc': {
      v: 1, kind: 'bundle', id: 'b-00000000c-cccccccc', job: 'tiny', state: 'active', priority: 5, enqueuedAt: 1, worker: 'w-0000000001',
      runs: [
        { id: 'b-00000000c-cccccccc.0', state: 'succeeded', attempt: 1, maxAttempts: 1 },
        { id: 'b-00000000c-cccccccc.1', state: 'active', attempt: 2, maxAttempts: 3 },
        { id: 'b-00000000c-cccccccc.2', state: 'active', attempt: 1, maxAttempts: 3 },
      ],
    },
  });

  it('shows a held bundle as its active runs, each a slot of its worker', () => {
    const view = structureView(t, 0);
    // The held bundle's one lease: its two active runs, each a slot of the worker.
    expect(view.workers[0]).toMatchObject({ running: [{ runId: 'b-00000000c-cccccccc.1', attempt: 2 }, { runId: 'b-00000000c-cccccccc.2', attempt: 1 }], load: 0.5 });
  });

  it('reads a bundle as the job codec stores it (ids and a shared maxAttempts left out)', () => {
    const id = 'b-00000000e-eeeeeeee';
    const runs = [0, 1].map((k): RunRecord => ({ v: 1, id: `${id}.${k}`, job: 'tiny', state: 'queued', input: k, attempt: 0, maxAttempts: 3, priority: 5, enqueuedAt: 4 }));
    const bundle: BundleRecord = { v: 1, kind: 'bundle', id, job: 'tiny', state: 'queued', priority: 5, enqueuedAt: 4, runs };
    const stored = JSON.parse(encodeBundle(bundle).toString()) as { runs: Record<string, unknown>[] };
    expect(stored.runs[0]).not.toHaveProperty('id'); // what the view must fill back in
    // The live table and the pages read records through the job codec, then make rows of them.
    const path = `/runs/tiny/${id}`;
    const view = runsOf(decodeStored(Buffer.from(JSON.stringify(stored)), path)).map((r) => runFromRecord('tiny', r.id, path, r as unknown as Record<string, unknown>));
    expect(view.map((r) => [r.id, r.maxAttempts, r.input, r.path])).toEqual([
      [`${id}.0`, 3, 0, `/runs/tiny/${id}`],
      [`${id}.1`, 3, 1, `/runs/tiny/${id}`],
    ]);
  });
});
