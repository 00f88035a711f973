/**
 * Claiming runs from a job's priority lanes. A claim costs O(k) for k runs,
 * never O(backlog): it reads each lane's head and tail, the k items at the
 * head and their run records (pipelined), then commits ONE multi.
 *
 * Contract of a claim of k runs (per lane p it takes n runs from):
 *   reads   head (h, version vh), tail t; items i-<h..h+n-1>; their records (version rv)
 *   ops     set head = h+n at vh
 *           per run: delete item; set record (active, attempt+1, worker,
 *                    startedAt) at rv  -> version rv+1 is the fence
 *           per claim: ONE ephemeral lease and ONE inflight for its single
 *                    runs, named by the claim (a claim group,
 *                    shared/jobs/claim-group.ts), listing them
 *           a run cancelled while queued: delete item; set record cancelled
 *                    at rv; create its history entry in cancelled/ (no lease)
 *   bundle  (docs/adr/0006-run-bundles.md) per bundle, not per run: delete
 *           item; ONE lease and ONE inflight named by the bundle id; set the
 *           bundle at rv: active, each queued run active with attempt+1 (or
 *           cancelled when a cancel request waits); nothing left to run ->
 *           the bundle is done (its history entries, no lease)
 *   races   BAD_VERSION on a head or a record: another claimer (or an admin
 *           action) won; re-read and retry with jitter
 * When every lane is empty the claimer arms one data watch per lane tail
 * (and a child watch for new lanes) and waits for it: no timer, no polling.
 */
import type { Logger } from 'pino';
import type { Coordination, Op } from '../../shared/client/coordination.ts';
import { isZkError, ZkError } from '../../shared/client/zk-error.ts';
import type { BundleRecord, LeaseInfo, RunRecord } from '../../shared/jobs/job-types.ts';
import { settleBundle } from '../../shared/jobs/bundle-settle.ts';
import { historyCreateOps } from '../../shared/jobs/history-entries.ts';
import { layout, laneOf } from '../../shared/jobs/layout.ts';
import { CLAIM_BATCH_MAX, CLAIM_RUNS_MAX, MULTI_BYTES_TARGET } from '../../shared/jobs/limits.ts';
import { encodeClaimGroup } from '../../shared/jobs/claim-group.ts';
import { newClaimId } from '../../shared/jobs/run-id.ts';
import { HeldClaimGroup } from './held-claim-group.ts';
import { decodeCounter, decodeStored, encodeBundle, encodeCounter, encodeJson, encodeRecord, type StoredRecord } from '../../shared/jobs/run-codec.ts';

export interface ClaimedRun {
  job: string;
  runId: string;
  /** The record as written by the claim. */
  record: RunRecord;
  /** The record's version after the claim: finish and progress are conditional on it. */
  version: number;
  fence: string;
  /** Set for a bundled run: the bundle claimed with it (one object shared by all its runs). */
  bundle?: ClaimedBundle;
  /** Set for a single run: the claim group it was claimed in (one object shared by the claim's runs). */
  group?: HeldClaimGroup;
}

/** A bundle as its claim wrote it: the record and its version. */
export interface ClaimedBundle {
  id: string;
  record: BundleRecord;
  version: number;
  /** The runs this claim made active (the attempt's runs). */
  runIds: string[];
}

export interface ClaimerOptions {
  client: Coordination;
  job: string;
  /** This worker's id now (it changes after LOST). */
  workerId: () => string;
  logger: Logger;
  /** Cancel requests known from the watched cancel dir. */
  isCancelRequested(runId: string): boolean;
  /** Checked just before the claim multi goes out (a pause may have arrived during its reads). */
  stillWanted?: () => boolean;
}

const CLAIM_RACES_MAX = 200;

/** A little random wait after a lost race, so two claimers stop colliding in lockstep. */
function jitter(attempt: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(20, 1 + attempt)));
}

interface LaneRead {
  priority: number;
  head: number;
  headVersion: number;
  tail: number;
}

interface Taken {
  priority: number;
  index: number;
  runId: string;
  stored: StoredRecord | null;
  recordVersion: number;
  bytes: number;
}

/** Runs a slot would start: a bundle's queued runs, or one. */
function runsIn(t: Taken): number {
  if (t.stored?.kind !== 'bundle') return 1;
  return Math.max(1, t.stored.bundle.runs.filter((r) => r.state === 'queued' || r.state === 'delayed').length);
}

export class Claimer {
  private readonly client: Coordination;
  private readonly job: string;
  private lanes: number[] | null = null;
  private lanesWatched = false;
  private lanesGeneration = 0;
  private readonly tailsWatched = new Set<number>();
  private wake: (() => void) | null = null;
  private woken = false;
  /** Runs per queue item seen lately (bundles hold many): how many items a claim of k runs reads. */
  private runsPerItem = 1;

  constructor(private readonly opts: ClaimerOptions) {
    this.client = opts.client;
    this.job = opts.job;
  }

  /** Ends a waitForWork early (slots freed, state change, shutdown). */
  poke(): void {
    this.woken = true;
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  /** Forget armed watches (a new session has none). */
  reset(): void {
    this.lanes = null;
    this.lanesWatched = false;
    this.tailsWatched.clear();
  }

  private async readLaneNames(watch: boolean): Promise<number[]> {
    if (this.lanes !== null && (this.lanesWatched || !watch)) return this.lanes;
    // The event can be handled before this read's continuation runs (reply and event in one
    // socket chunk): mark the watch armed before asking, and keep the answer only if no event
    // came meanwhile, or a watch would be thought armed after it fired (a lost wake-up).
    const generation = ++this.lanesGeneration;
    const watcher = watch
      ? () => {
          this.lanesGeneration++;
          this.lanesWatched = false;
          this.lanes = null;
          this.poke();
        }
      : undefined;
    if (watch) this.lanesWatched = true;
    let names: string[];
    try {
      names = await this.client.children(layout.lanes(this.job), watcher);
    } catch (err) {
      if (watch) this.lanesWatched = false;
      throw err;
    }
    const lanes = names
      .map(laneOf)
      .filter((n) => !Number.isNaN(n))
      .sort((a, b) => a - b);
    if (generation === this.lanesGeneration) this.lanes = lanes;
    return lanes;
  }

  private async readLanes(watch: boolean): Promise<LaneRead[]> {
    const lanes = await this.readLaneNames(watch);
    const reads = await Promise.all(
      lanes.map(async (priority): Promise<LaneRead | null> => {
        const armTail = watch && !this.tailsWatched.has(priority);
        const tailWatcher = armTail
          ? () => {
              this.tailsWatched.delete(priority);
              this.poke();
            }
          : undefined;
        // Marked before the read, for the reason in readLaneNames: the event may come first.
        if (armTail) this.tailsWatched.add(priority);
        try {
          const [head, tail] = await Promise.all([
            this.client.get(layout.laneHead(this.job, priority)),
            this.client.get(layout.laneTail(this.job, priority), tailWatcher),
          ]);
          return {
            priority,
            head: decodeCounter(head.data, layout.laneHead(this.job, priority)),
            headVersion: head.stat.version,
            tail: decodeCounter(tail.data, layout.laneTail(this.job, priority)),
          };
        } catch (err) {
          if (armTail) this.tailsWatched.delete(priority);
          // A lane seen in the listing but not yet complete cannot happen (made in one multi); a
          // vanished one (deleted by an admin) is simply empty.
          if (isZkError(err, 'NO_NODE')) return null;
          throw err;
        }
      }),
    );
    return reads.filter((r): r is LaneRead => r !== null);
  }

  /** True when some lane has runs waiting; arms watches so waitForWork wakes on the next append. */
  async hasWork(): Promise<boolean> {
    const lanes = await this.readLanes(true);
    return lanes.some((l) => l.head < l.tail);
  }

  /**
   * Waits until a watched lane changes or poke() is called. Call after
   * hasWork() returned false (which armed the watches).
   */
  waitForWork(): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.wake = () => {
        this.woken = false;
        resolve();
      };
    });
  }

  /** Claims up to k runs; [] when every lane is empty. */
  async claim(k: number): Promise<ClaimedRun[]> {
    const want = Math.min(k, CLAIM_RUNS_MAX);
    if (want <= 0) return [];
    this.woken = false;
    // Slots read by a try that lost the head CAS stay valid for the next try: the winner
    // took the slots below the new head, and nobody else writes the ones above it.
    const cache = new Map<string, Taken>();
    for (let attempt = 0; ; attempt++) {
      const lanes = await this.readLanes(false);
      const ranges: { lane: LaneRead; n: number }[] = [];
      let left = Math.min(CLAIM_BATCH_MAX, Math.max(1, Math.ceil(want / this.runsPerItem)));
      for (const lane of lanes) {
        if (left === 0) break;
        const n = Math.min(left, lane.tail - lane.head);
        if (n > 0) {
          ranges.push({ lane, n });
          left -= n;
        }
      }
      if (ranges.length === 0) return [];
      const taken = await this.readItems(ranges, cache);
      if (this.opts.stillWanted && !this.opts.stillWanted()) return [];
      if (taken === null) {
        if (attempt >= CLAIM_RACES_MAX) return [];
        await jitter(attempt);
        continue;
      }
      const plan = this.buildClaim(ranges, taken, want);
      try {
        await this.client.multi(plan.ops);
        return plan.value;
      } catch (err) {
        const raced = err instanceof ZkError && err.opIndex !== undefined && plan.retryable.has(err.opIndex);
        if (!raced || attempt >= CLAIM_RACES_MAX) throw err;
        // (Never our own first try: the client answers a multi whose reply was lost as applied.)
        if ((err.opIndex ?? 0) >= plan.headOps) cache.clear();
        await jitter(attempt);
      }
    }
  }

  /** The slots' items and records; null when one is gone (another claimer moved the head). */
  private async readItems(ranges: { lane: LaneRead; n: number }[], cache: Map<string, Taken>): Promise<Taken[] | null> {
    const slots = ranges.flatMap(({ lane, n }) => Array.from({ length: n }, (_, i) => ({ priority: lane.priority, index: lane.head + i })));
    const all = await Promise.all(
      slots.map(async (s): Promise<Taken | null> => {
        const key = `${s.priority}:${s.index}`;
        const hit = cache.get(key);
        if (hit) return hit;
        let runId: string;
        try {
          runId = (await this.client.get(layout.laneItem(this.job, s.priority, s.index))).data.toString('utf8');
        } catch (err) {
          // Another claimer took it since we read the head: a lost race, not an error.
          if (isZkError(err, 'NO_NODE')) return null;
          throw err;
        }
        let taken: Taken;
        try {
          const { data, stat } = await this.client.get(layout.run(this.job, runId));
          taken = { ...s, runId, stored: decodeStored(data, layout.run(this.job, runId)), recordVersion: stat.version, bytes: data.length };
        } catch (err) {
          if (!isZkError(err, 'NO_NODE')) throw err;
          taken = { ...s, runId, stored: null, recordVersion: -1, bytes: 0 };
        }
        cache.set(key, taken);
        return taken;
      }),
    );
    return all.every((t): t is Taken => t !== null) ? all : null;
  }

  private buildClaim(ranges: { lane: LaneRead; n: number }[], taken: Taken[], want: number) {
    // Keep the multi within one frame (a claim of huge records takes fewer runs), and stop
    // once the slots kept hold `want` runs (a bundle holds many).
    let bytes = 0;
    let keep = 0;
    let runs = 0;
    for (const t of taken) {
      if (keep > 0 && (bytes + t.bytes > MULTI_BYTES_TARGET || runs >= want)) break;
      bytes += t.bytes;
      runs += runsIn(t);
      keep++;
    }
    const kept = taken.slice(0, keep);
    if (keep > 0) this.runsPerItem = 0.5 * this.runsPerItem + 0.5 * (runs / keep);
    const retryable = new Set<number>();
    const ops: Op[] = [];
    for (const { lane } of ranges) {
      const n = kept.filter((t) => t.priority === lane.priority).length;
      if (n === 0) continue;
      retryable.add(ops.length);
      ops.push({ op: 'set', path: layout.laneHead(this.job, lane.priority), data: encodeCounter(lane.head + n), version: lane.headVersion });
    }
    const headOps = ops.length;
    const now = Date.now();
    const worker = this.opts.workerId();
    const claimed: ClaimedRun[] = [];
    const singles: string[] = [];
    for (const t of kept) {
      retryable.add(ops.length);
      ops.push({ op: 'delete', path: layout.laneItem(this.job, t.priority, t.index) });
      if (t.stored?.kind === 'bundle') {
        claimed.push(...this.claimBundle(t, t.stored.bundle, ops, retryable, now));
        continue;
      }
      const rec = t.stored?.record ?? null;
      // An item whose record is gone or already finished is dropped, not run.
      if (rec === null || !(rec.state === 'queued' || rec.state === 'waiting-barrier')) continue;
      if (this.opts.isCancelRequested(t.runId)) {
        const cancelled: RunRecord = { ...rec, state: 'cancelled', finishedAt: now, error: { code: 'DROVER_CANCELLED', message: 'cancelled while queued' } };
        retryable.add(ops.length);
        ops.push({ op: 'set', path: layout.run(this.job, t.runId), data: encodeRecord(cancelled), version: t.recordVersion });
        ops.push({ op: 'create', path: layout.historyEntry(this.job, 'cancelled', now, t.runId) });
        continue;
      }
      const version = t.recordVersion + 1;
      const fence = `${t.runId}:${version}`;
      // Spread and blank, not delete (a deleted field leaves a slow object for every later spread and
      // encode of this record); JSON leaves the undefined fields out.
      const record = { ...rec, state: 'active', attempt: rec.attempt + 1, worker, startedAt: now, progress: undefined, logs: undefined, error: undefined } as RunRecord;
      retryable.add(ops.length);
      ops.push({ op: 'set', path: layout.run(this.job, t.runId), data: encodeRecord(record), version: t.recordVersion });
      claimed.push({ job: this.job, runId: t.runId, record, version, fence });
      singles.push(t.runId);
    }
    if (singles.length > 0) {
      // One lease and one inflight for the claim's single runs (recovery re-queues from the inflight
      // those still active by this claim: worker and startedAt match).
      const id = newClaimId(now);
      const data = encodeClaimGroup({ v: 1, worker, at: now, runs: singles });
      ops.push({ op: 'create', path: layout.lease(this.job, id), data, mode: 'ephemeral' });
      ops.push({ op: 'create', path: layout.inflightRun(this.job, id), data });
      const group = new HeldClaimGroup(this.job, id, worker, now, singles);
      for (const c of claimed) if (!c.bundle) c.group = group;
    }
    return { ops, retryable, value: claimed, headOps };
  }

  /** A bundle's part of a claim multi (see the contract above); the runs it makes active. */
  private claimBundle(t: Taken, bundle: BundleRecord, ops: Op[], retryable: Set<number>, now: number): ClaimedRun[] {
    // An item whose bundle is not waiting in a lane (cancelled to the last run, or moved on) is dropped.
    if (bundle.state !== 'queued') return [];
    const worker = this.opts.workerId();
    const runIds: string[] = [];
    const runs = bundle.runs.map((r): RunRecord => {
      if (r.state !== 'queued' && r.state !== 'delayed') return r;
      if (this.opts.isCancelRequested(r.id)) {
        return { ...r, state: 'cancelled', finishedAt: now, error: { code: 'DROVER_CANCELLED', message: 'cancelled while queued' } };
      }
      runIds.push(r.id);
      // Spread and blank, not delete or rest: both leave slow objects (and rest is slow itself);
      // JSON leaves the undefined fields out.
      return { ...r, state: 'active', attempt: r.attempt + 1, worker, startedAt: now, progress: undefined, logs: undefined, error: undefined, dueAt: undefined } as RunRecord;
    });
    const path = layout.run(this.job, bundle.id);
    retryable.add(ops.length);
    if (runIds.length === 0) {
      const settled = settleBundle({ ...bundle, runs }, now);
      ops.push({ op: 'set', path, data: encodeBundle(settled.bundle), version: t.recordVersion });
      ops.push(...historyCreateOps(this.job, bundle.id, now, settled.bundle.runs));
      return [];
    }
    const record: BundleRecord = { ...bundle, state: 'active', worker, startedAt: now, runs };
    ops.push({ op: 'set', path, data: encodeBundle(record), version: t.recordVersion });
    const version = t.recordVersion + 1;
    const lease: LeaseInfo = { worker, attempt: Math.max(...runs.map((r) => r.attempt)), fence: `${bundle.id}:${version}`, at: now };
    ops.push({ op: 'create', path: layout.lease(this.job, bundle.id), data: encodeJson(lease), mode: 'ephemeral' });
    ops.push({ op: 'create', path: layout.inflightRun(this.job, bundle.id) });
    const held: ClaimedBundle = { id: bundle.id, record, version, runIds };
    const mine = new Set(runIds);
    return runs
      .filter((r) => mine.has(r.id))
      .map((r) => ({ job: this.job, runId: r.id, record: r, version, fence: `${r.id}:${version}`, bundle: held }));
  }
}
