/**
 * Claiming runs from a job's priority lanes. A claim costs O(k) for k runs,
 * never O(backlog), and two claimers never read the same items.
 *
 * Contract of a claim of k runs:
 *   reserve  reads each lane's head (h, version vh) and tail t; ONE small
 *            multi: per lane it takes n slots from, set head = h+n at vh;
 *            create the claim group (shared/jobs/claim-group.ts): an
 *            ephemeral lease and an inflight `c-<ms>-<rand>` naming the
 *            reserved range. BAD_VERSION on a head: another claimer won;
 *            re-read and retry with jitter (nothing else was read)
 *   take     reads the reserved items and their records (pipelined), then
 *            ONE multi: per slot delete the item, and
 *              a single run: set record (active, attempt+1, worker,
 *                startedAt = the group's time) at rv -> rv+1 is the fence
 *              a run cancelled while queued: set record cancelled at rv;
 *                create its history entry in cancelled/
 *              a bundle (docs/adr/0006-run-bundles.md): ONE lease and ONE
 *                inflight named by the bundle id; set the bundle at rv:
 *                active, each queued run active with attempt+1 (or
 *                cancelled when a cancel request waits); nothing left to
 *                run -> the bundle is done (its history entries, no lease)
 *            then set the group's inflight and lease to the runs taken (and
 *            the range still reserved, when records too large for one multi
 *            leave slots for the next claim), or delete them when the claim
 *            took no single run. BAD_VERSION or NO_NODE on a slot: an admin
 *            action changed it; read it again
 * When every lane is empty the claimer arms one data watch per lane tail
 * (and a child watch for new lanes) and waits for it: no timer, no polling.
 */
import type { Logger } from 'pino';
import type { Coordination, Op, Stat } from '../../shared/client/coordination.ts';
import { isZkError, ZkError } from '../../shared/client/zk-error.ts';
import type { BundleRecord, LeaseInfo, RunRecord } from '../../shared/jobs/job-types.ts';
import { settleBundle } from '../../shared/jobs/bundle-settle.ts';
import { historyCreateOps } from '../../shared/jobs/history-entries.ts';
import { layout, laneOf } from '../../shared/jobs/layout.ts';
import { CLAIM_BATCH_MAX, CLAIM_RUNS_MAX, MULTI_BYTES_TARGET } from '../../shared/jobs/limits.ts';
import { encodeClaimGroup, type ClaimGroupInfo, type ClaimRange } from '../../shared/jobs/claim-group.ts';
import { newClaimId } from '../../shared/jobs/run-id.ts';
import { HeldClaimGroup } from './held-claim-group.ts';
import { changed } from '../../shared/jobs/record-copy.ts';
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
  /** Checked just before the reserve multi goes out (a pause may have arrived during its reads). */
  stillWanted?: () => boolean;
  /** Runs per queue item to expect before any is seen (the job's bundle size): sizes the first reservation. */
  runsPerItem?: number;
}

const CLAIM_RACES_MAX = 200;
/** Below this share of reservations lost, a reservation's reads go out with it (saving the take two round trips). */
const SPECULATE_BELOW = 0.2;

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
  /** Null when the slot's item is gone. */
  runId: string | null;
  stored: StoredRecord | null;
  recordVersion: number;
  bytes: number;
}

interface Slot {
  priority: number;
  index: number;
}

/** Slots reserved by a claim (reserve()) and not taken yet. */
interface Reservation {
  id: string;
  at: number;
  worker: string;
  /** In lane order, contiguous within a lane. */
  slots: Slot[];
  /** Single runs taken so far (the inflight lists them). */
  singles: string[];
  group: HeldClaimGroup;
  /** Slots read and not taken yet, by slotKey. */
  cache: Map<number, Taken>;
}

/** A slot's cache key: lane indexes stay far below 2^53 / 10. */
function slotKey(s: Slot): number {
  return s.index * 10 + s.priority;
}

/** Slots (contiguous per lane, in lane order) as [from, to) ranges. */
function rangesOf(slots: Slot[]): ClaimRange[] {
  const out: ClaimRange[] = [];
  for (const s of slots) {
    const last = out[out.length - 1];
    if (last && last.priority === s.priority && last.to === s.index) last.to++;
    else out.push({ priority: s.priority, from: s.index, to: s.index + 1 });
  }
  return out;
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
  /** Record bytes per queue item seen lately: how many slots one take multi can hold. */
  private bytesPerItem = 512;
  /** Slots reserved and not taken yet (their group's lease is ours). */
  private reserved: Reservation | null = null;
  /** Moving share of reservations lost to another claimer: above SPECULATE_BELOW, reads wait for the win. */
  private races = 0;

  constructor(private readonly opts: ClaimerOptions) {
    this.client = opts.client;
    this.job = opts.job;
    this.runsPerItem = Math.max(1, opts.runsPerItem ?? 1);
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
    // A reservation's lease went with the old session: recovery puts its slots back.
    this.reserved = null;
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
    // Slots reserved by an earlier call and not taken yet (a take that failed, or records too
    // large for one multi) are ours: taken before reserving more.
    const reservation = this.reserved ?? (await this.reserve(want));
    if (reservation === null) return [];
    this.reserved = reservation;
    return this.take(reservation);
  }

  /**
   * Reserves the slots at the lanes' heads: moves each head past them (CAS)
   * and creates the claim group, lease and inflight, with their range, in one
   * small multi. A lost race costs the head reads and this multi, nothing
   * more. Null when every lane is empty.
   */
  private async reserve(want: number): Promise<Reservation | null> {
    for (let attempt = 0; ; attempt++) {
      const lanes = await this.readLanes(false);
      const ranges: ClaimRange[] = [];
      const versions: number[] = [];
      let left = Math.min(CLAIM_BATCH_MAX, Math.max(1, Math.ceil(want / this.runsPerItem)), Math.max(1, Math.floor(MULTI_BYTES_TARGET / this.bytesPerItem)));
      for (const lane of lanes) {
        if (left === 0) break;
        const n = Math.min(left, lane.tail - lane.head);
        if (n > 0) {
          ranges.push({ priority: lane.priority, from: lane.head, to: lane.head + n });
          versions.push(lane.headVersion);
          left -= n;
        }
      }
      if (ranges.length === 0) return null;
      if (this.opts.stillWanted && !this.opts.stillWanted()) return null;
      const at = Date.now();
      const worker = this.opts.workerId();
      const id = newClaimId(at);
      const data = encodeClaimGroup({ v: 1, worker, at, runs: [], range: ranges });
      const ops: Op[] = ranges.map((r, i) => ({ op: 'set', path: layout.laneHead(this.job, r.priority), data: encodeCounter(r.to), version: versions[i] as number }));
      ops.push({ op: 'create', path: layout.lease(this.job, id), data, mode: 'ephemeral' });
      ops.push({ op: 'create', path: layout.inflightRun(this.job, id), data });
      const slots = ranges.flatMap((r) => Array.from({ length: r.to - r.from }, (_, i) => ({ priority: r.priority, index: r.from + i })));
      const reservation: Reservation = { id, at, worker, slots, singles: [], group: new HeldClaimGroup(this.job, id, worker, at), cache: new Map() };
      // Uncontended, the slots' reads go out right behind the multi (the session keeps them in
      // order: they see it applied), so the take needs no round trips of its own; contended,
      // they would mostly be thrown away with a lost race, so they wait for the win.
      const reads = this.races < SPECULATE_BELOW ? this.readSlots(reservation).catch(() => null) : null;
      try {
        await this.client.multi(ops);
      } catch (err) {
        const raced = err instanceof ZkError && err.opIndex !== undefined && err.opIndex < ranges.length && err.is('BAD_VERSION');
        if (reads) await reads;
        if (!raced || attempt >= CLAIM_RACES_MAX) throw err;
        this.races = 0.8 * this.races + 0.2;
        // (Never our own first try: the client answers a multi whose reply was lost as applied.)
        await jitter(attempt);
        continue;
      }
      this.races *= 0.8;
      if (reads && (await reads) === null) reservation.cache.clear();
      return reservation;
    }
  }

  /**
   * Takes the reserved slots: reads their items and records (nobody else
   * reads them: they are below the heads) and commits them in one multi, or
   * in a few of at most MULTI_BYTES_TARGET when records are large, each
   * naming in the group the runs taken and the range still reserved. A
   * record changed meanwhile by an admin action is read again. On any other
   * failure the slots not taken stay reserved for the next claim (the runs
   * taken so far are returned).
   */
  private async take(r: Reservation): Promise<ClaimedRun[]> {
    const out: ClaimedRun[] = [];
    for (let attempt = 0; r.slots.length > 0; attempt++) {
      const taken = await this.readSlots(r);
      const plan = this.buildTake(r, taken);
      try {
        await this.client.multi(plan.ops);
      } catch (err) {
        const slot = err instanceof ZkError && err.opIndex !== undefined ? plan.slotAt.get(err.opIndex) : undefined;
        if (slot !== undefined && err instanceof ZkError && (err.is('BAD_VERSION') || err.is('NO_NODE')) && attempt < CLAIM_RACES_MAX) {
          r.cache.delete(slot);
          continue;
        }
        if (out.length === 0) throw err;
        this.opts.logger.warn({ err, claim: r.id, left: r.slots.length }, 'taking reserved runs failed; the next claim takes the rest');
        return out;
      }
      for (let i = 0; i < plan.kept; i++) r.cache.delete(slotKey(taken[i]!));
      r.slots = r.slots.slice(plan.kept);
      r.singles.push(...plan.singles);
      r.group.add(plan.singles);
      for (const c of plan.value) if (!c.bundle) c.group = r.group;
      out.push(...plan.value);
    }
    this.reserved = null;
    // A group whose runs all landed before its last take (a take retried by a later claim): nothing holds it open now.
    if (r.group.endReservation()) void r.group.close(this.client).catch((err: unknown) => this.opts.logger.warn({ err, claim: r.id }, 'closing a claim group failed; recovery removes it once our session ends'));
    return out;
  }

  /**
   * The reserved slots' items and records (cached across tries); a slot
   * whose item is gone is skipped. Two multiReads (client.getMany): every
   * item, then every record the items name — as single gets that was two
   * requests per run, each with its own frame and callbacks on both ends.
   */
  private async readSlots(r: Reservation): Promise<Taken[]> {
    const missing: Slot[] = [];
    for (const s of r.slots) if (!r.cache.has(slotKey(s))) missing.push(s);
    if (missing.length > 0) await this.readInto(r, missing);
    return r.slots.map((s) => r.cache.get(slotKey(s)) as Taken);
  }

  private async readInto(r: Reservation, slots: Slot[]): Promise<void> {
    const items = await this.client.getMany(slots.map((s) => layout.laneItem(this.job, s.priority, s.index)));
    // Objects built field by field: spreading even a small literal here cost more than the reads'
    // own client work (microbenchmark, Node 20). An item deleted by an admin action (a job removed)
    // leaves nothing to take there.
    const taken: Taken[] = [];
    const named: Taken[] = [];
    const paths: string[] = [];
    for (let i = 0; i < slots.length; i++) {
      const s = slots[i] as Slot;
      const item = items[i];
      const t: Taken = { priority: s.priority, index: s.index, runId: item ? item.data.toString('utf8') : null, stored: null, recordVersion: -1, bytes: 0 };
      taken.push(t);
      if (t.runId !== null) {
        named.push(t);
        paths.push(layout.run(this.job, t.runId));
      }
    }
    // Records may be large (up to the server's maxBuffer): a request per ~MULTI_BYTES_TARGET of them
    // by the size seen so far, all sent at once, so no reply frame grows with the batch.
    const per = Math.max(1, Math.floor(MULTI_BYTES_TARGET / this.bytesPerItem));
    const parts: Promise<({ data: Buffer; stat: Stat } | null)[]>[] = [];
    for (let i = 0; i < paths.length; i += per) parts.push(this.client.getMany(paths.slice(i, i + per)));
    const records = (await Promise.all(parts)).flat();
    for (let i = 0; i < named.length; i++) {
      const rec = records[i];
      if (!rec) continue;
      const t = named[i] as Taken;
      t.stored = decodeStored(rec.data, paths[i] as string);
      t.recordVersion = rec.stat.version;
      t.bytes = rec.data.length;
    }
    for (const t of taken) r.cache.set(slotKey(t), t);
  }

  private buildTake(r: Reservation, taken: Taken[]) {
    // Keep the multi within one frame: a take of huge records goes in a few.
    let bytes = 0;
    let keep = 0;
    let runs = 0;
    for (const t of taken) {
      if (keep > 0 && bytes + t.bytes > MULTI_BYTES_TARGET) break;
      bytes += t.bytes;
      runs += runsIn(t);
      keep++;
    }
    const kept = taken.slice(0, keep);
    if (keep > 0) {
      this.runsPerItem = 0.5 * this.runsPerItem + 0.5 * (runs / keep);
      this.bytesPerItem = Math.max(64, 0.5 * this.bytesPerItem + 0.5 * (bytes / keep));
    }
    const slotAt = new Map<number, number>();
    const ops: Op[] = [];
    const now = Date.now();
    const { worker, at } = r;
    const claimed: ClaimedRun[] = [];
    const singles: string[] = [];
    for (const t of kept) {
      if (t.runId === null) continue;
      slotAt.set(ops.length, slotKey(t));
      ops.push({ op: 'delete', path: layout.laneItem(this.job, t.priority, t.index) });
      if (t.stored?.kind === 'bundle') {
        const first = ops.length;
        claimed.push(...this.claimBundle(t, t.stored.bundle, ops, now));
        if (ops.length > first) slotAt.set(first, slotKey(t));
        continue;
      }
      const rec = t.stored?.record ?? null;
      // An item whose record is gone or already finished is dropped, not run.
      if (rec === null || !(rec.state === 'queued' || rec.state === 'waiting-barrier')) continue;
      slotAt.set(ops.length, slotKey(t));
      if (this.opts.isCancelRequested(t.runId)) {
        const cancelled = changed(rec, { state: 'cancelled', finishedAt: now, error: { code: 'DROVER_CANCELLED', message: 'cancelled while queued' } });
        ops.push({ op: 'set', path: layout.run(this.job, t.runId), data: encodeRecord(cancelled), version: t.recordVersion });
        ops.push({ op: 'create', path: layout.historyEntry(this.job, 'cancelled', now, t.runId) });
        continue;
      }
      const version = t.recordVersion + 1;
      const fence = `${t.runId}:${version}`;
      // Fields blanked, not deleted (record-copy.ts). startedAt is the group's `at`: recovery knows a
      // run still active by this claim by its worker and startedAt.
      const record = changed(rec, { state: 'active', attempt: rec.attempt + 1, worker, startedAt: at, progress: undefined, logs: undefined, error: undefined });
      ops.push({ op: 'set', path: layout.run(this.job, t.runId), data: encodeRecord(record), version: t.recordVersion });
      claimed.push({ job: this.job, runId: t.runId, record, version, fence });
      singles.push(t.runId);
    }
    const rest = r.slots.slice(keep);
    const all = [...r.singles, ...singles];
    if (rest.length === 0 && all.length === 0) {
      // Nothing of ours to run (bundles, cancelled or dropped items): the group goes with the take.
      ops.push({ op: 'delete', path: layout.lease(this.job, r.id) });
      ops.push({ op: 'delete', path: layout.inflightRun(this.job, r.id) });
    } else {
      // The inflight (and lease: readers list a worker's runs from it) name the runs taken; the
      // range, the slots still reserved.
      const info: ClaimGroupInfo = { v: 1, worker, at, runs: all };
      if (rest.length > 0) info.range = rangesOf(rest);
      const data = encodeClaimGroup(info);
      ops.push({ op: 'set', path: layout.inflightRun(this.job, r.id), data });
      ops.push({ op: 'set', path: layout.lease(this.job, r.id), data });
    }
    return { ops, slotAt, kept: keep, singles, value: claimed };
  }

  /** A bundle's part of a claim multi (see the contract above); the runs it makes active. */
  private claimBundle(t: Taken, bundle: BundleRecord, ops: Op[], now: number): ClaimedRun[] {
    // An item whose bundle is not waiting in a lane (cancelled to the last run, or moved on) is dropped.
    if (bundle.state !== 'queued') return [];
    const worker = this.opts.workerId();
    const runIds: string[] = [];
    const runs = bundle.runs.map((r): RunRecord => {
      if (r.state !== 'queued' && r.state !== 'delayed') return r;
      if (this.opts.isCancelRequested(r.id)) {
        return changed(r, { state: 'cancelled', finishedAt: now, error: { code: 'DROVER_CANCELLED', message: 'cancelled while queued' } });
      }
      runIds.push(r.id);
      return changed(r, { state: 'active', attempt: r.attempt + 1, worker, startedAt: now, progress: undefined, logs: undefined, error: undefined, dueAt: undefined });
    });
    const path = layout.run(this.job, bundle.id);
    if (runIds.length === 0) {
      const settled = settleBundle(changed(bundle, { runs }), now);
      ops.push({ op: 'set', path, data: encodeBundle(settled.bundle), version: t.recordVersion });
      ops.push(...historyCreateOps(this.job, bundle.id, now, settled.bundle.runs));
      return [];
    }
    const record = changed(bundle, { state: 'active', worker, startedAt: now, runs });
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
