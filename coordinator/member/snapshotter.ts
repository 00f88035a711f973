/**
 * Fuzzy snapshots every ~snapCount applied txns or ~snapSizeLimitInKb of
 * them, whichever comes first, for standalone and ensemble members alike
 * (ADR 0002). The size trigger is what bounds recovery and the data dir for
 * workloads of large znodes: a count alone lets 100,000 txns of 4 KB (400 MB)
 * pile up before the first snapshot. Nor is one taken before the log since
 * the last is LOG_PER_SNAPSHOT times as large as that snapshot: a snapshot
 * costs its whole tree, so a fixed size trigger made the snapshot work per
 * write grow with the tree (a job history of a million runs rewritten per
 * 16 MiB of log; in the single-run bench snapshots were 13–26% of a member's
 * CPU). With the ratio, a snapshot costs each logged byte 1/LOG_PER_SNAPSHOT
 * of a snapshot byte whatever the tree's size, and a restart replays at
 * most LOG_PER_SNAPSHOT times what it loads.
 * The tree is written a slice per event-loop turn
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
import { RECORD_HEADER_BYTES } from '../storage/record-format.ts';

/** What a txn of `payload` costs in the log: its record header too. */
export function logBytes(payload: Buffer): number {
  return RECORD_HEADER_BYTES + payload.length;
}

/**
 * Log since the last snapshot, in that snapshot's sizes, before the size
 * trigger takes another. At 1 the snapshots of the single-run bench cost its
 * members ~20% of their CPU, and that share holds at any history size (a
 * tree of S bytes rewritten per S bytes of log); at 2 it halves, for a
 * restart that replays up to twice the snapshot it loads (docs/adr/0002).
 */
export const LOG_PER_SNAPSHOT = 2;

export interface SnapshotterOptions {
  snapDir: string;
  txnLog: TxnLog;
  snapCount: number;
  /** Bytes of log (records with their headers) that also trigger a snapshot; 0: count only. */
  snapSizeLimitBytes: number;
  /** Snapshots kept; log segments older than the oldest kept are deleted. */
  retainCount: number;
  /**
   * Txns (and their log bytes) already applied above the newest snapshot
   * when this member started (a standalone member's replayed log): they
   * count toward the next snapshot, so a member restarted more often than
   * it snapshots still snapshots.
   */
  since?: { count: number; bytes: number };
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
   * log's base there, so no SNAP can name a deleted snapshot). False: delete
   * nothing this time (the member is stopping); the next snapshot will.
   */
  beforeRetain?: (oldestKept: number) => Promise<boolean>;
  /** Test seam for the randomized interval. */
  random?: () => number;
}

export class Snapshotter {
  private since: number;
  private sinceBytes: number;
  private running: Promise<void> | null = null;
  /** The last snapshot's size: the size trigger waits for LOG_PER_SNAPSHOT times this much log. */
  private lastSnapshotBytes = 0;
  /**
   * Both thresholds are randomized between half and all of their setting, as
   * ZooKeeper does (randRoll, randSize), so members do not snapshot together.
   */
  private readonly every: number;
  private readonly everyBytes: number;

  constructor(private readonly opts: SnapshotterOptions) {
    const random = opts.random ?? Math.random;
    this.every = Math.max(1, Math.floor(opts.snapCount / 2 + random() * (opts.snapCount / 2)));
    const limit = opts.snapSizeLimitBytes;
    this.everyBytes = limit > 0 ? Math.max(1, Math.floor(limit / 2 + random() * (limit / 2))) : Infinity;
    this.since = opts.since?.count ?? 0;
    this.sinceBytes = opts.since?.bytes ?? 0;
  }

  /** `count` more txns, `bytes` of log, were applied: start a snapshot when one is due (0, 0 just checks). */
  note(count: number, bytes: number): void {
    this.since += count;
    this.sinceBytes += bytes;
    if ((this.since >= this.every || this.sinceBytes >= Math.max(this.everyBytes, LOG_PER_SNAPSHOT * this.lastSnapshotBytes)) && this.running === null) {
      this.opts.log.debug({ txns: this.since, bytes: this.sinceBytes }, 'snapshot due');
      this.since = 0;
      this.sinceBytes = 0;
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
      this.lastSnapshotBytes = chunks.reduce((n, c) => n + c.length, 0);
      // The walk saw every txn applied until it ended: all of them must be safe first.
      if (!(await o.settle(state, state.lastZxid))) {
        o.log.info({ zxid: hexZxid(zxid) }, 'snapshot dropped: the state was replaced while it was taken');
        return;
      }
      // New appends go to a new segment, so the older ones can be purged whole.
      await o.txnLog.roll();
      await writeSnapshot(o.snapDir, { zxid, chunks });
      const zxids = await listSnapshotZxids(o.snapDir);
      const oldestKept = zxids[Math.min(zxids.length, o.retainCount) - 1] ?? zxid;
      if (o.beforeRetain && !(await o.beforeRetain(oldestKept))) {
        o.log.info({ zxid: hexZxid(zxid) }, 'snapshot written; older files left for the next one (stopping)');
        return;
      }
      await retainSnapshots(o.snapDir, o.retainCount);
      // Recovery falls back to an older snapshot when a newer one does not validate, so the log
      // is kept from the oldest snapshot kept, not from the newest.
      const purged = await o.txnLog.purge(oldestKept);
      o.log.info({ zxid: hexZxid(zxid), bytes: chunks.reduce((n, c) => n + c.length, 0), oldestKept: hexZxid(oldestKept), segmentsPurged: purged }, 'snapshot written');
    } catch (err) {
      o.log.error({ err }, 'snapshot failed');
    }
  }
}
