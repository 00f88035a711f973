/**
 * A claim group this worker holds (shared/jobs/claim-group.ts): the runs of
 * one claim whose finish has not landed yet. The group's inflight list is
 * brought down to them in the worker's next finish multi that touches the
 * group (so the active count stays close), and once every run has landed
 * (or was fenced: it is someone else's) the group's lease and inflight go,
 * in the worker's next finish multi (no transaction of their own under load). A run abandoned by a lost session stays in the group:
 * recovery re-queues it from the inflight once the lease has gone.
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

  /** The write that brings the inflight's list down to the runs not landed yet; null when it is current. */
  updateOp(): Op | null {
    if (this.done || this.reserving || this.pending.size === 0 || this.pending.size >= this.listed) return null;
    return { op: 'set', path: layout.inflightRun(this.job, this.id), data: encodeClaimGroup({ v: 1, worker: this.worker, at: this.at, runs: [...this.pending] }) };
  }

  /** The update from updateOp() landed (it listed `size` runs). */
  updated(size: number): void {
    this.listed = Math.min(this.listed, size);
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
    if (!this.pending.delete(runId) || this.pending.size > 0 || this.done || this.reserving) return false;
    this.done = true;
    return true;
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
