/**
 * What the dashboard shows. The structural parts are computed from the
 * mirror of the cluster's structure (dashboard/live/structure-mirror.ts;
 * layout.ts says where each thing lives): pure functions of the mirror and
 * `now`. Queues and runs are counted and paged from the cluster instead
 * (dashboard/live). Records come from other processes, so every field is
 * read defensively.
 */
import { claimGroupNamed, decodeClaimGroup, type ClaimGroupInfo } from '../../shared/jobs/claim-group.ts';
import { layout, sequenceOf } from '../../shared/jobs/layout.ts';
import { isBundleId } from '../../shared/jobs/run-id.ts';
import type { MirrorView } from './mirror-view.ts';
import { childPath } from './mirror-view.ts';
import { numberField, readJson, readObject, runRecordsOf, stringField } from './read-record.ts';
import { nextFireTimes } from './schedule-preview.ts';

export interface WorkerView {
  name: string;
  host?: string;
  pid?: number;
  jobs: string[];
  capacity?: number;
  startedAt?: number;
  draining: boolean;
  /** The session owning the worker's ephemeral node. */
  session?: string;
  running: { job: string; runId: string; attempt?: number }[];
  /** running / capacity, 0..1 (0 when capacity is unknown). */
  load: number;
}

export interface QueueView {
  job: string;
  spec?: Record<string, unknown>;
  paused: boolean;
  /** Runs waiting in the FIFO. */
  depth: number;
  /** Claimed and not finished. */
  inflight: number;
  /** Holding a live lease. */
  active: number;
  delayed: number;
  dead: number;
  /** Finished runs kept in history: succeeded + failed + cancelled (dead runs are in `dead`). */
  history: number;
  /** Kept in history by final state (each bounded by history.keep on its own; counts of records, as job-counts.ts says). */
  succeeded: number;
  /** Ended failed without being dead-lettered (input refused at claim, a bundled result too large). */
  failed: number;
  cancelled: number;
  /** Runs in and out per minute over the last minute (set by the live model from its samples). */
  enqueuedPerMin?: number;
  finishedPerMin?: number;
}

export interface RunView {
  job: string;
  id: string;
  state: string;
  attempt?: number;
  maxAttempts?: number;
  enqueuedAt?: number;
  startedAt?: number;
  finishedAt?: number;
  dueAt?: number;
  worker?: string;
  progress?: { pct: number; message?: string; at?: number };
  error?: { code?: string; message?: string };
  result?: unknown;
  input?: unknown;
  logs?: { at?: number; level?: string; msg?: string }[];
  partition?: number;
  fireTime?: number;
  /** Where its record lives (for the znode browser). */
  path: string;
}

export interface ScheduleView {
  job: string;
  cron?: string;
  timezone: string;
  misfire?: string;
  lastFireTime?: number;
  nextFireTimes: number[];
  /** Set when the cron does not parse. */
  error?: string;
}

export interface PartitionView {
  job: string;
  partitions?: number;
  generation?: number;
  reason?: string;
  at?: number;
  ranges: { member: string; worker: string; from: number; to: number }[];
  owners: { partition: number; worker?: string; generation?: number }[];
  members: { name: string; worker?: string }[];
  /** The rebalance timeline, oldest first (the layout bounds it). */
  timeline: { name: string; entry: unknown }[];
}

export interface BarrierView {
  group: string;
  /** From BarrierState, when the node holds one (barrier run groups). */
  size?: number;
  arrived?: number;
  left?: number;
  released?: boolean;
  followUp?: string;
  data?: unknown;
  /** Child nodes (the barrier recipes' members) with their own child counts. */
  nodes: { name: string; children: number }[];
}

export interface SchedulerView {
  leader?: string;
  since?: number;
  candidates: string[];
}

export interface ClusterView {
  workers: WorkerView[];
  queues: QueueView[];
  runs: RunView[];
  schedules: ScheduleView[];
  partitions: PartitionView[];
  barriers: BarrierView[];
  scheduler: SchedulerView;
}

export const TERMINAL_STATES = new Set(['succeeded', 'failed', 'dead', 'cancelled']);

function kids(tree: MirrorView, path: string): string[] {
  return tree.get(path)?.children ?? [];
}

function countKids(tree: MirrorView, path: string): number {
  return kids(tree, path).length;
}

export function workersView(tree: MirrorView): WorkerView[] {
  // Which worker holds which run: the leases (ephemeral, so only live claims).
  const running = new Map<string, WorkerView['running']>();
  for (const job of kids(tree, layout.leasesRoot)) {
    for (const runId of kids(tree, layout.leases(job))) {
      const data = tree.get(layout.lease(job, runId))?.data;
      const group = claimGroupNamed(runId, data);
      if (group) {
        running.set(group.worker, [...(running.get(group.worker) ?? []), ...groupRunning(tree, job, runId, group)]);
        continue;
      }
      const lease = readObject(data);
      const worker = stringField(lease, 'worker');
      if (!worker) continue;
      const list = running.get(worker) ?? [];
      const attempt = numberField(lease, 'attempt');
      // A bundle's one lease covers its runs, each in a slot of its own: list its active runs.
      const bundled = isBundleId(runId) ? runRecordsOf(tree.get(layout.run(job, runId))?.data) : [];
      const active = bundled.filter((r) => stringField(r, 'state') === 'active');
      if (bundled.length === 0) list.push({ job, runId, ...(attempt !== undefined ? { attempt } : {}) });
      for (const r of active) {
        const id = stringField(r, 'id');
        const a = numberField(r, 'attempt');
        if (id !== undefined) list.push({ job, runId: id, ...(a !== undefined ? { attempt: a } : {}) });
      }
      running.set(worker, list);
    }
  }
  return kids(tree, layout.workers)
    .filter((name) => name.startsWith('w-'))
    .sort((a, b) => sequenceOf(a) - sequenceOf(b))
    .map((name) => {
      const node = tree.get(layout.worker(name));
      const info = readObject(node?.data);
      const jobs = Array.isArray(info?.['jobs']) ? (info['jobs'] as unknown[]).filter((j): j is string => typeof j === 'string') : [];
      const capacity = numberField(info, 'capacity');
      const runs = running.get(name) ?? [];
      const view: WorkerView = { name, jobs, draining: info?.['draining'] === true, running: runs, load: capacity ? runs.length / capacity : 0 };
      const host = stringField(info, 'host');
      if (host !== undefined) view.host = host;
      const pid = numberField(info, 'pid');
      if (pid !== undefined) view.pid = pid;
      if (capacity !== undefined) view.capacity = capacity;
      const startedAt = numberField(info, 'startedAt');
      if (startedAt !== undefined) view.startedAt = startedAt;
      if (node?.stat) view.session = node.stat.ephemeralOwner;
      return view;
    });
}

/**
 * A claim group's runs its worker is running (shared/jobs/claim-group.ts):
 * those its inflight lists, when the tree holds it (the live model keeps an
 * open group's), else those its lease lists (the claim's); of them, a run
 * whose record the tree holds is listed while still active by the claim,
 * with its attempt, and one whose record it does not hold is listed without.
 */
function groupRunning(tree: MirrorView, job: string, claimId: string, lease: ClaimGroupInfo): WorkerView['running'] {
  const inflight = tree.get(layout.inflightRun(job, claimId))?.data;
  const runIds = (inflight ? decodeClaimGroup(inflight)?.runs : undefined) ?? lease.runs;
  const out: WorkerView['running'] = [];
  for (const runId of runIds) {
    const rec = runRecordsOf(tree.get(layout.run(job, runId))?.data)[0];
    if (rec === undefined) {
      out.push({ job, runId });
      continue;
    }
    if (stringField(rec, 'state') !== 'active' || stringField(rec, 'worker') !== lease.worker || numberField(rec, 'startedAt') !== lease.at) continue;
    const attempt = numberField(rec, 'attempt');
    out.push({ job, runId, ...(attempt !== undefined ? { attempt } : {}) });
  }
  return out;
}

/** A run's record as the runs table shows it (fields read defensively: records come from other processes). */
export function runFromRecord(job: string, id: string, path: string, rec: Record<string, unknown>): RunView {
  const view: RunView = { job: stringField(rec, 'job') ?? job, id: stringField(rec, 'id') ?? id, state: stringField(rec, 'state') ?? 'unknown', path };
  for (const key of ['attempt', 'maxAttempts', 'enqueuedAt', 'startedAt', 'finishedAt', 'dueAt', 'partition', 'fireTime'] as const) {
    const n = numberField(rec, key);
    if (n !== undefined) view[key] = n;
  }
  const worker = stringField(rec, 'worker');
  if (worker !== undefined) view.worker = worker;
  const progress = readObjectValue(rec['progress']);
  const pct = numberField(progress, 'pct');
  if (pct !== undefined) {
    view.progress = { pct: Math.max(0, Math.min(100, pct)) };
    const message = stringField(progress, 'message');
    if (message !== undefined) view.progress.message = message;
    const at = numberField(progress, 'at');
    if (at !== undefined) view.progress.at = at;
  }
  const error = readObjectValue(rec['error']);
  if (error) view.error = { ...(stringField(error, 'code') ? { code: stringField(error, 'code') } : {}), ...(stringField(error, 'message') ? { message: stringField(error, 'message') } : {}) };
  if ('result' in rec) view.result = rec['result'];
  if ('input' in rec) view.input = rec['input'];
  if (Array.isArray(rec['logs'])) view.logs = (rec['logs'] as unknown[]).slice(-20).map((l) => readObjectValue(l) ?? {}) as RunView['logs'];
  return view;
}

function readObjectValue(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

export function schedulesView(tree: MirrorView, now: number): ScheduleView[] {
  const names = new Set(kids(tree, layout.schedules));
  // A job with a schedule in its spec shows even before the scheduler wrote its state.
  for (const job of kids(tree, layout.jobs)) if (stringField(readObject(tree.get(layout.job(job))?.data), 'schedule')) names.add(job);
  return [...names].sort().map((job) => {
    const state = readObject(tree.get(layout.schedule(job))?.data);
    const spec = readObject(tree.get(layout.job(job))?.data);
    const cron = stringField(state, 'cron') ?? stringField(spec, 'schedule');
    const timezone = stringField(state, 'timezone') ?? stringField(spec, 'timezone') ?? 'UTC';
    const view: ScheduleView = { job, timezone, nextFireTimes: [] };
    if (cron !== undefined) view.cron = cron;
    const misfire = stringField(state, 'misfire') ?? stringField(spec, 'misfire');
    if (misfire !== undefined) view.misfire = misfire;
    // The newest fire record is the truth; the state's lastFireTime may lag it.
    const fires = kids(tree, layout.fires(job)).map((n) => Number(n.replace(/^f-/, ''))).filter(Number.isFinite);
    const last = Math.max(numberField(state, 'lastFireTime') ?? -Infinity, ...fires);
    if (Number.isFinite(last)) view.lastFireTime = last;
    if (cron !== undefined) {
      try {
        view.nextFireTimes = nextFireTimes(cron, { timezone, now, count: 5 });
      } catch (err) {
        view.error = err instanceof Error ? err.message : String(err);
      }
    }
    return view;
  });
}

function ownerOf(data: Buffer | null | undefined): { worker?: string; generation?: number } {
  const v = readJson(data);
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    const worker = stringField(o, 'worker') ?? stringField(o, 'workerId');
    const generation = numberField(o, 'generation');
    return { ...(worker !== undefined ? { worker } : {}), ...(generation !== undefined ? { generation } : {}) };
  }
  if (typeof v === 'string') {
    // "w-0000000001" or "w-0000000001,3" (workerId, generation)
    const [worker, generation] = v.split(/[,\s]+/);
    return { ...(worker ? { worker } : {}), ...(generation && Number.isFinite(Number(generation)) ? { generation: Number(generation) } : {}) };
  }
  if (typeof v === 'number') return { worker: String(v) };
  return {};
}

export function partitionsView(tree: MirrorView): PartitionView[] {
  return kids(tree, layout.partitionsRoot).map((job) => {
    const assignment = readObject(tree.get(layout.partitionAssignment(job))?.data);
    const ranges = Array.isArray(assignment?.['ranges'])
      ? (assignment['ranges'] as unknown[]).map(readObjectValue).filter((r): r is Record<string, unknown> => r !== undefined).map((r) => ({
          member: stringField(r, 'member') ?? '',
          worker: stringField(r, 'worker') ?? '',
          from: numberField(r, 'from') ?? 0,
          to: numberField(r, 'to') ?? 0,
        }))
      : [];
    const owners = kids(tree, layout.partitionOwners(job))
      .map((name) => ({ name, n: Number(name.replace(/^p-/, '')) }))
      .filter((o) => Number.isInteger(o.n))
      .sort((a, b) => a.n - b.n)
      .map((o) => ({ partition: o.n, ...ownerOf(tree.get(childPath(layout.partitionOwners(job), o.name))?.data) }));
    const members = kids(tree, layout.partitionMembers(job))
      .sort((a, b) => sequenceOf(a) - sequenceOf(b))
      .map((name) => {
        const v = readJson(tree.get(childPath(layout.partitionMembers(job), name))?.data);
        const worker = typeof v === 'string' ? v : stringField(readObjectValue(v), 'worker');
        return { name, ...(worker !== undefined ? { worker } : {}) };
      });
    const timeline = kids(tree, layout.partitionLog(job))
      .sort((a, b) => sequenceOf(a) - sequenceOf(b))
      .slice(-50)
      .map((name) => ({ name, entry: readJson(tree.get(childPath(layout.partitionLog(job), name))?.data) }));
    const view: PartitionView = { job, ranges, owners, members, timeline };
    const partitions = numberField(assignment, 'partitions') ?? numberField(readObject(tree.get(layout.job(job))?.data), 'partitions');
    if (partitions !== undefined) view.partitions = partitions;
    const generation = numberField(assignment, 'generation');
    if (generation !== undefined) view.generation = generation;
    const reason = stringField(assignment, 'reason');
    if (reason !== undefined) view.reason = reason;
    const at = numberField(assignment, 'at');
    if (at !== undefined) view.at = at;
    return view;
  });
}

export function barriersView(tree: MirrorView): BarrierView[] {
  return kids(tree, layout.barriers).map((group) => {
    const path = layout.barrier(group);
    const data = readJson(tree.get(path)?.data);
    const nodes = kids(tree, path).map((name) => ({ name, children: countKids(tree, childPath(path, name)) }));
    const view: BarrierView = { group, nodes };
    const state = readObjectValue(data);
    if (state && Array.isArray(state['arrived'])) {
      const size = numberField(state, 'size');
      if (size !== undefined) view.size = size;
      view.arrived = (state['arrived'] as unknown[]).length;
      const left = numberField(state, 'left');
      if (left !== undefined) view.left = left;
      view.released = state['released'] === true;
      const followUp = stringField(state, 'followUp');
      if (followUp !== undefined) view.followUp = followUp;
    } else if (data !== undefined) {
      view.data = data;
    }
    return view;
  });
}

export function schedulerView(tree: MirrorView): SchedulerView {
  const state = readObject(tree.get(layout.schedulerState)?.data);
  const candidates = kids(tree, layout.scheduler).filter((n) => n.startsWith('c-')).sort((a, b) => sequenceOf(a) - sequenceOf(b));
  const view: SchedulerView = { candidates };
  const leader = stringField(state, 'leader');
  if (leader !== undefined) view.leader = leader;
  const since = numberField(state, 'since');
  if (since !== undefined) view.since = since;
  return view;
}

/** The parts of the view the structure mirror holds (queues and runs come from counts and pages: dashboard/live). */
export type StructureView = Omit<ClusterView, 'queues' | 'runs'>;

export function structureView(tree: MirrorView, now: number): StructureView {
  return {
    workers: workersView(tree),
    schedules: schedulesView(tree, now),
    partitions: partitionsView(tree),
    barriers: barriersView(tree),
    scheduler: schedulerView(tree),
  };
}
