/**
 * Finishing attempts: ONE multi per run, and one multi for all runs that
 * finish together (coalesced on setImmediate), falling back to one multi
 * per run when a batch fails so one fenced run cannot fail the others.
 *
 * Contract of a finish of run R held at version V:
 *   ops     set runs/<job>/R at V (the fence; BAD_VERSION -> DROVER_FENCED)
 *           then by outcome: succeeded/failed/cancelled -> create history/<job>/<state>/h-<end>-R
 *                            dead -> create dead/<job>/R
 *                            retry -> create delayed/<job>/d-<due>-R
 *                            hand back -> append R to its lane (queue-append)
 *           a barrier member also moves its group's `left` (CAS); the last to
 *           leave enqueues the group's follow-up in the same multi
 *   group   R's claim group (held-claim-group.ts) keeps its lease and inflight
 *           until the last of its runs has landed; a batch multi also brings
 *           the inflight's run list of each group it touches down to the runs
 *           not landed yet, and a run that landed (or was fenced) leaves its
 *           group, the last one closing it
 *   races   NO_NODE on a cancel request (consumed meanwhile): dropped, the
 *           finish stands without it
 */
import type { Logger } from 'pino';
import type { Coordination, Op } from '../../shared/client/coordination.ts';
import { isZkError, ZkError } from '../../shared/client/zk-error.ts';
import { DroverError, isDroverError } from '../../shared/errors.ts';
import type { RunRecord } from '../../shared/jobs/job-types.ts';
import { layout } from '../../shared/jobs/layout.ts';
import { MULTI_BYTES_TARGET, MULTI_OPS_MAX } from '../../shared/jobs/limits.ts';
import { appendOps, commitWithRetry, readLaneTails } from '../../shared/jobs/queue-append.ts';
import { encodeRecord } from '../../shared/jobs/run-codec.ts';
import { groupLeaveOps } from '../../shared/jobs/run-group.ts';
import type { HeldClaimGroup } from './held-claim-group.ts';

export type FinishKind = 'succeeded' | 'failed' | 'cancelled' | 'dead' | 'retry' | 'handback';

export interface FinishRequest {
  job: string;
  runId: string;
  /** The record's current version (the fence, moved by progress writes). */
  version: number;
  /** The record to write (state, result, error, dueAt already set). */
  record: RunRecord;
  kind: FinishKind;
  /** The cancel request that ended it, deleted in the same multi (cancelled runs). */
  cancelNode?: string;
  /** The claim group the run was claimed in (every single run has one; bundled runs finish through their holder). */
  group?: HeldClaimGroup;
}

export type FinishResult = { ok: true } | { ok: false; error: DroverError | Error };

interface Pending {
  req: FinishRequest;
  resolve: (r: FinishResult) => void;
}

/** Ops whose target may already be gone without making the finish wrong (dropped on NO_NODE). */
type Optional = Set<string>;

/** A request's record, encoded once: batching measures it, the multi (and any retry) sends it. */
const encoded = new WeakMap<FinishRequest, Buffer>();
function recordData(req: FinishRequest): Buffer {
  let data = encoded.get(req);
  if (!data) encoded.set(req, (data = encodeRecord(req.record)));
  return data;
}

function simpleOps(req: FinishRequest, dropped: Optional): Op[] {
  const { job, runId, record } = req;
  const ops: Op[] = [{ op: 'set', path: layout.run(job, runId), data: recordData(req), version: req.version }];
  if (req.cancelNode && !dropped.has(req.cancelNode)) ops.push({ op: 'delete', path: req.cancelNode });
  const end = record.finishedAt ?? Date.now();
  switch (req.kind) {
    case 'succeeded':
    case 'failed':
    case 'cancelled':
      ops.push({ op: 'create', path: layout.historyEntry(job, req.kind, end, runId) });
      break;
    case 'dead':
      ops.push({ op: 'create', path: layout.deadRun(job, runId) });
      break;
    case 'retry':
      ops.push({ op: 'create', path: layout.delayedRun(job, record.dueAt ?? end, runId) });
      break;
    case 'handback':
      break;
  }
  return ops;
}

function recordBytes(req: FinishRequest): number {
  return recordData(req).length + 300;
}

/**
 * Finish flushes in flight at once. Past it, outcomes wait for one to come
 * back and go out as one batch: when the ensemble is the bottleneck the
 * batches grow instead of the transactions (Nagle's rule, as group commit
 * does for fsync), at the price of at most one multi's round trip.
 */
const FLUSHES_IN_FLIGHT_MAX = 1;

export class FinishBatcher {
  private pending: Pending[] = [];
  private closing: HeldClaimGroup[] = [];
  /** Groups whose inflight list names runs that have landed since. */
  private readonly stale = new Set<HeldClaimGroup>();
  /** Closes sent on their own, and batch multis carrying closes, not settled yet. */
  private readonly closes = new Set<Promise<void>>();
  private readonly inFlight = new Set<Promise<void>>();
  private scheduled = false;
  /** Flushes whose multis are in flight: at FLUSHES_IN_FLIGHT_MAX, finishes wait and go out together. */
  private flushing = 0;

  constructor(
    private readonly client: Coordination,
    private readonly logger: Logger,
  ) {}

  finish(req: FinishRequest): Promise<FinishResult> {
    return new Promise((resolve) => {
      const settled = (r: FinishResult): void => {
        // Landed, or someone else's now: either way the run no longer holds its group open.
        if (req.group && (r.ok || isDroverError(r.error, 'DROVER_FENCED'))) this.leave(req.group, req.runId);
        resolve(r);
      };
      this.pending.push({ req, resolve: settled });
      this.schedule();
    });
  }

  /** `runId` no longer holds `group` open (landed, or fenced); the last to leave has the group closed. */
  leave(group: HeldClaimGroup, runId: string): void {
    if (!group.leave(runId)) return;
    this.closing.push(group);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.flushing >= FLUSHES_IN_FLIGHT_MAX) return;
    this.scheduled = true;
    setImmediate(() => void this.flush());
  }

  /** Groups emptied since the last flush: closed by the next batch multi, or on their own. */
  private takeClosing(): HeldClaimGroup[] {
    const groups = this.closing;
    this.closing = [];
    return groups;
  }

  /** Groups whose list went stale after `touched` landed: rewritten by the next flush. */
  private checkStale(touched: Iterable<HeldClaimGroup>): void {
    let any = false;
    for (const g of touched) {
      if (g.stale) {
        this.stale.add(g);
        any = true;
      }
    }
    if (any) this.schedule();
  }

  /** A stale list rewritten with no finish multi to carry it (a group whose last runs run long). */
  private updateAlone(group: HeldClaimGroup): void {
    const update = group.updateOp();
    if (!update || update.op.op !== 'set') return;
    const p = this.client
      .set(update.op.path, update.op.data, -1)
      .then(() => group.updated(update.size))
      .catch((err: unknown) => {
        // Closed meanwhile (or taken by recovery): nothing left to list.
        if (!isZkError(err, 'NO_NODE')) this.logger.warn({ err, job: group.job, claim: group.id }, 'rewriting a claim group list failed');
      })
      .finally(() => this.closes.delete(p));
    this.closes.add(p);
  }

  private closeAlone(groups: HeldClaimGroup[]): void {
    for (const g of groups) {
      const p = g
        .close(this.client)
        .catch((err: unknown) => this.logger.warn({ err, job: g.job, claim: g.id }, 'closing a claim group failed; recovery removes it once our session ends'))
        .finally(() => this.closes.delete(p));
      this.closes.add(p);
    }
  }

  /** Resolves once every emptied claim group has been closed (or its close failed): before a worker's session ends. */
  async closed(): Promise<void> {
    for (;;) {
      if (this.closing.length > 0) this.closeAlone(this.takeClosing());
      if (this.closes.size === 0 && this.inFlight.size === 0) return;
      await Promise.allSettled([...this.closes, ...this.inFlight]);
    }
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    this.flushing++;
    try {
      await this.flushBatch();
    } finally {
      this.flushing--;
      // What arrived while the ensemble was busy goes out as one batch now.
      if (this.pending.length > 0 || this.closing.length > 0 || this.stale.size > 0) this.schedule();
    }
  }

  private async flushBatch(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    const simple: Pending[] = [];
    const single: Pending[] = [];
    for (const p of batch) (p.req.kind === 'handback' || p.req.record.group ? single : simple).push(p);
    const chunks: Pending[][] = [];
    let chunk: Pending[] = [];
    let bytes = 0;
    for (const p of simple) {
      if (chunk.length > 0 && (bytes + recordBytes(p.req) > MULTI_BYTES_TARGET || (chunk.length + 1) * 4 > MULTI_OPS_MAX)) {
        chunks.push(chunk);
        chunk = [];
        bytes = 0;
      }
      chunk.push(p);
      bytes += recordBytes(p.req);
    }
    if (chunk.length > 0) chunks.push(chunk);
    // Emptied groups ride along with the first batch (their deletes are two small ops, not a
    // transaction of their own); with no batch to carry them they go alone.
    const closing = this.takeClosing();
    const stale = [...this.stale].filter((g) => g.stale);
    this.stale.clear();
    if (chunks.length === 0) {
      if (closing.length > 0) this.closeAlone(closing);
      for (const g of stale) this.updateAlone(g);
    }
    const carrier = chunks.length > 0 && (closing.length > 0 || stale.length > 0) ? this.commitBatch(chunks[0]!, closing, stale) : null;
    if (carrier) {
      const tracked = carrier.finally(() => this.inFlight.delete(tracked));
      this.inFlight.add(tracked);
    }
    await Promise.all([...(carrier ? [carrier] : []), ...chunks.slice(carrier ? 1 : 0).map((c) => this.commitBatch(c, [])), ...single.map((p) => this.commitOne(p))]);
  }

  private async commitBatch(batch: Pending[], closing: HeldClaimGroup[], stale: HeldClaimGroup[] = []): Promise<void> {
    if (batch.length === 1 && closing.length === 0 && stale.length === 0) return this.commitOne(batch[0]!);
    const ops = batch.flatMap((p) => simpleOps(p.req, new Set()));
    const updates: { group: HeldClaimGroup; size: number }[] = [];
    const riding: HeldClaimGroup[] = [];
    const byGroup = new Map<HeldClaimGroup, string[]>();
    for (const p of batch) {
      if (!p.req.group) continue;
      const ids = byGroup.get(p.req.group);
      if (ids) ids.push(p.req.runId);
      else byGroup.set(p.req.group, [p.req.runId]);
    }
    for (const [group, runIds] of byGroup) {
      // The batch holds every run of the group not landed yet: the group goes with them.
      if (group.rideWith(runIds)) {
        ops.push(...group.closeOps());
        riding.push(group);
        continue;
      }
      const update = group.updateOp(runIds);
      if (update) {
        ops.push(update.op);
        updates.push({ group, size: update.size });
      }
    }
    // Lists left stale by finishes that landed out of step ride along too.
    for (const group of stale) {
      const update = byGroup.has(group) ? null : group.updateOp();
      if (update) {
        ops.push(update.op);
        updates.push({ group, size: update.size });
      }
    }
    for (const g of closing) ops.push(...g.closeOps());
    try {
      await this.client.multi(ops);
      for (const u of updates) u.group.updated(u.size);
      for (const g of riding) g.rode(true);
      for (const p of batch) p.resolve({ ok: true });
      this.checkStale(byGroup.keys());
    } catch (err) {
      for (const group of stale) this.stale.add(group);
      for (const g of riding) g.rode(false);
      // The groups' deletes are not the batch's business: they go on their own.
      this.closeAlone(closing);
      if (!(err instanceof ZkError) || err.opIndex === undefined) {
        for (const p of batch) p.resolve({ ok: false, error: err as Error });
        return;
      }
      // One run's op failed; the others are fine on their own.
      await Promise.all(batch.map((p) => this.commitOne(p)));
    }
  }

  private async commitOne(p: Pending): Promise<void> {
    try {
      await this.commitRun(p.req);
      p.resolve({ ok: true });
      if (p.req.group) this.checkStale([p.req.group]);
    } catch (err) {
      if (err instanceof ZkError && err.opIndex === 0 && err.is('BAD_VERSION')) {
        this.logger.warn({ job: p.req.job, runId: p.req.runId, version: p.req.version }, 'fenced: the run moved on; result discarded');
        p.resolve({ ok: false, error: new DroverError('DROVER_FENCED', `run ${p.req.runId} of '${p.req.job}' is no longer ours; result discarded`, { cause: err }) });
        return;
      }
      p.resolve({ ok: false, error: err as Error });
    }
  }

  private async commitRun(req: FinishRequest): Promise<void> {
    // The last run of its group not landed takes the group's deletes along (its lease may have
    // gone with an expired session: optional, as a consumed cancel request is).
    const ride = req.group?.rideWith([req.runId]) ? req.group : null;
    const update = ride ? null : (req.group?.updateOp([req.runId]) ?? null);
    try {
      await this.commitRunOps(req, ride, update?.op ?? null);
      if (update) req.group?.updated(update.size);
      ride?.rode(true);
    } catch (err) {
      ride?.rode(false);
      throw err;
    }
  }

  private async commitRunOps(req: FinishRequest, ride: HeldClaimGroup | null, update: Op | null): Promise<void> {
    const dropped: Optional = new Set();
    const optional = new Set(req.cancelNode ? [req.cancelNode] : []);
    if (ride) optional.add(layout.lease(ride.job, ride.id));
    if (update) optional.add(update.path);
    for (let tries = 0; ; tries++) {
      let ops: Op[] = [];
      try {
        await commitWithRetry(this.client, async () => {
          ops = simpleOps(req, dropped);
          if (ride) ops.push(...ride.closeOps().filter((o) => !dropped.has(o.path)));
          if (update && !dropped.has(update.path)) ops.push(update);
          const retryable = new Set<number>();
          if (req.kind === 'handback') {
            const tails = await readLaneTails(this.client, req.job, [req.record.priority]);
            ops.push(...appendOps(req.job, tails, [{ runId: req.runId, priority: req.record.priority }], ops.length, retryable));
          }
          if (req.record.group && req.kind !== 'retry' && req.kind !== 'handback') {
            const leave = await groupLeaveOps(this.client, req.job, req.record.group.id, ops.length, retryable);
            ops.push(...leave);
          }
          return { ops, retryable, value: null };
        });
        return;
      } catch (err) {
        // A cancel request consumed meanwhile, or the group's lease gone with an expired session:
        // the record at V still says the attempt is ours, so the finish stands without it.
        const path = err instanceof ZkError && err.opIndex !== undefined ? ops[err.opIndex]?.path : undefined;
        if (tries < 3 && path && optional.has(path) && isZkError(err, 'NO_NODE') && !dropped.has(path)) {
          dropped.add(path);
          continue;
        }
        throw err;
      }
    }
  }
}
