/**
 * Fuzzy snapshots every ~snapCount applied txns, for standalone and ensemble
 * members alike (ADR 0002). The tree is written a slice per event-loop turn
 * while writes go on; the file goes to disk only once everything it may
 * contain is safe to describe — durable for a standalone member, committed
 * by a quorum for an ensemble member (a leader applies ahead of the commit
 * point) — and is dropped if the state was replaced meanwhile. Then the
 * newest few are kept and the log segments older than the oldest kept go.
 */
import type { Logger } from 'pino';
import type { TxnLog } from '../storage/txn-log.ts';
import type { ReplicatedState } from '../server/replicated-state.ts';
import { listSnapshotZxids, retainSnapshots, writeSnapshot } from '../storage/snapshot.ts';
import { encodeSnapshotInSlices } from './snapshot-codec.ts';
import { hexZxid } from '../zab/zxid.ts';

export const SNAPSHOTS_RETAINED = 3;

export interface SnapshotterOptions {
  snapDir: string;
  txnLog: TxnLog;
  snapCount: number;
  log: Logger;
  /** The state to snapshot now (a member may replace it while a snapshot is on its way). */
  state: () => ReplicatedState;
  /**
   * Resolves true once a snapshot of `state` holding txns up to `zxidMax`
   * may be written, false to drop it (that state was replaced meanwhile).
   */
  settle: (state: ReplicatedState, zxidMax: number) => Promise<boolean>;
  /**
   * The new snapshot is durable and `oldestKept` is the oldest that will
   * stay; runs before any older one is deleted (an ensemble member moves its
   * log's base there, so no SNAP can name a deleted snapshot).
   */
  beforeRetain?: (oldestKept: number) => Promise<void>;
  /** Test seam for the randomized interval. */
  random?: () => number;
}

export class Snapshotter {
  private since = 0;
  private running: Promise<void> | null = null;
  /** Randomized between half and all of snapCount, as ZooKeeper does, so members do not snapshot together. */
  private readonly every: number;

  constructor(private readonly opts: SnapshotterOptions) {
    const random = opts.random ?? Math.random;
    this.every = Math.max(1, Math.floor(opts.snapCount / 2 + random() * (opts.snapCount / 2)));
  }

  /** `count` more txns were applied: start a snapshot when one is due. */
  note(count: number): void {
    this.since += count;
    if (this.since >= this.every && this.running === null) {
      this.since = 0;
      this.running = this.take().finally(() => {
        this.running = null;
      });
    }
  }

  /** Resolves when no snapshot is being taken. */
  async idle(): Promise<void> {
    await this.running;
  }

  private async take(): Promise<void> {
    const o = this.opts;
    try {
      const state = o.state();
      const { zxid, chunks } = await encodeSnapshotInSlices(state);
      // The walk saw every txn applied until it ended: all of them must be safe first.
      if (!(await o.settle(state, state.lastZxid))) {
        o.log.info({ zxid: hexZxid(zxid) }, 'snapshot dropped: the state was replaced while it was taken');
        return;
      }
      // New appends go to a new segment, so the older ones can be purged whole.
      await o.txnLog.roll();
      await writeSnapshot(o.snapDir, { zxid, chunks });
      const zxids = await listSnapshotZxids(o.snapDir);
      const oldestKept = zxids[Math.min(zxids.length, SNAPSHOTS_RETAINED) - 1] ?? zxid;
      await o.beforeRetain?.(oldestKept);
      await retainSnapshots(o.snapDir, SNAPSHOTS_RETAINED);
      await o.txnLog.purge(oldestKept);
      o.log.info({ zxid: hexZxid(zxid), bytes: chunks.reduce((n, c) => n + c.length, 0) }, 'snapshot written');
    } catch (err) {
      o.log.error({ err }, 'snapshot failed');
    }
  }
}
