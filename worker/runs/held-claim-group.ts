/**
 * A claim group this worker holds (shared/jobs/claim-group.ts): the runs of
 * one claim whose finish has not landed yet. Each finish multi of the
 * group's runs also rewrites the inflight's list to the runs not landed
 * minus its own (exact when it lands, unchanged when it fails: one multi);
 * a list left stale by finishes landing out of step is rewritten by the
 * next flush. Once every run has landed (or was fenced: it is someone
 * else's) the group's lease and inflight go — with the last runs' finish
 * when they are in one multi, else in the next finish multi or alone. A run
 * abandoned by a lost session stays in the group: recovery re-queues it
 * from the inflight once the lease has gone. The list never leaves out a
 * run whose finish may not land.
 */
import type { Coordination, Op } from '../../shared/client/coordination.ts';
import { isZkError, ZkError } from '../../shared/client/zk-error.ts';
import { encodeClaimGroup } from '../../shared/jobs/claim-group.ts';
import { layout } from '../../shared/jobs/layout.ts';

export class HeldClaimGroup {
  private readonly pending: Set<string>;
  /** How many runs the inflight lists now (as last written). */
  private listed: number;
  /** Set when the group is closed or forgotten: nothing more is written for it. */
  private done = false;

  /** While the claim still has reserved slots to take: the group stays open even when empty. */
  private reserving = true;
  /** While a finish multi carrying the group's deletes is in flight (rideWith). */
  private riding = false;

  constructor(
    readonly job: string,
    readonly id: string,
    readonly worker: string,
    readonly at: number,
  ) {
    this.pending = new Set();
    this.listed = 0;
  }

  /** Runs the claim took (their take multi landed, listing them in the inflight). */
  add(runIds: readonly string[]): void {
    for (const id of runIds) this.pending.add(id);
    this.listed = this.pending.size;
  }

  /** The claim has taken every slot it reserved. True when its runs have all landed meanwhile: the caller closes it. */
  endReservation(): boolean {
    this.reserving = false;
    if (this.pending.size > 0 || this.done) return false;
    this.done = true;
    return true;
  }

  /**
   * The write, for a multi finishing `finishing` (of this group's runs), that
   * lists the group's runs not landed but those; null when that is what the
   * inflight lists already. `size` goes to updated() once the multi landed.
   */
  updateOp(finishing: readonly string[] = []): { op: Op; size: number } | null {
    if (this.done || this.reserving) return null;
    const runs = finishing.length === 0 ? [...this.pending] : [...this.pending].filter((id) => !finishing.includes(id));
    if (runs.length === 0 || runs.length >= this.listed) return null;
    return { op: { op: 'set', path: layout.inflightRun(this.job, this.id), data: encodeClaimGroup({ v: 1, worker: this.worker, at: this.at, runs }) }, size: runs.length };
  }

  /** An update from updateOp() landed (multis land in the order sent: the last one is what the inflight lists). */
  updated(size: number): void {
    this.listed = size;
  }

  /** The inflight lists runs that have landed since (finishes landing out of step with the updates). */
  get stale(): boolean {
    return !this.done && !this.reserving && !this.riding && this.pending.size > 0 && this.pending.size < this.listed;
  }

  get size(): number {
    return this.pending.size;
  }

  /**
   * The run's finish landed, or the run is no longer ours (fenced): it leaves
   * the group. True for the last one to leave: the caller closes the group
   * (closeOps in its next multi, or close()).
   */
  leave(runId: string): boolean {
    if (!this.pending.delete(runId) || this.pending.size > 0 || this.done || this.reserving || this.riding) return false;
    this.done = true;
    return true;
  }

  /**
   * True when `runIds` are all the group's runs not landed yet: their finish
   * multi may carry the group's deletes (closeOps), saving the group a
   * transaction of its own. rode() says how that multi went.
   */
  rideWith(runIds: readonly string[]): boolean {
    if (this.done || this.reserving || this.riding || this.pending.size === 0 || this.pending.size > runIds.length) return false;
    for (const id of this.pending) if (!runIds.includes(id)) return false;
    this.riding = true;
    return true;
  }

  /** The finish multi carrying the deletes landed (the group is closed) or failed (it closes as usual). */
  rode(landed: boolean): void {
    this.riding = false;
    if (landed) this.done = true;
  }

  /** The group's lease and inflight going: its runs have all landed. */
  closeOps(): Op[] {
    return [
      { op: 'delete', path: layout.lease(this.job, this.id) },
      { op: 'delete', path: layout.inflightRun(this.job, this.id) },
    ];
  }

  /** Our session ended: the lease went with it, and recovery takes the group from its inflight. */
  forget(): void {
    this.done = true;
  }

  /** closeOps() on its own (when no finish multi could carry them). */
  async close(client: Coordination): Promise<void> {
    const inflight = layout.inflightRun(this.job, this.id);
    try {
      await client.multi(this.closeOps());
    } catch (err) {
      // The lease went with an expired session: every run has landed, so the inflight goes alone.
      if (!(err instanceof ZkError && err.opIndex === 0 && err.is('NO_NODE'))) {
        if (isZkError(err, 'NO_NODE')) return; // recovery took the inflight
        throw err;
      }
      await client.delete(inflight).catch((e: unknown) => {
        if (!isZkError(e, 'NO_NODE')) throw e;
      });
    }
  }
}
