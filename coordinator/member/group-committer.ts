/**
 * Group commit for a standalone member: every txn prepared while the previous
 * batch was being written goes out in the next batch, one write and one fsync
 * for all of them (ZooKeeper's SyncRequestProcessor does the same). Durable
 * zxids are reported in order; replies wait for them.
 */
import type { TxnLog } from '../storage/txn-log.ts';
import { limits } from '../base/limits.ts';

/** fsyncs allowed to overlap: one finishing while the next batch is written and synced. */
const SYNCS_IN_FLIGHT = 2;

export interface LogEntry {
  zxid: number;
  bytes: Buffer;
}

export class GroupCommitter {
  private pending: LogEntry[] = [];
  private writing = false;
  private scheduled = false;
  private failed: Error | null = null;
  private wake: (() => void) | null = null;
  private readonly idleWaiters: (() => void)[] = [];
  durableZxid: number;

  constructor(
    private readonly log: TxnLog,
    startZxid: number,
    private readonly onDurable: (zxid: number) => void,
    private readonly onError: (err: Error) => void,
  ) {
    this.durableZxid = startZxid;
  }

  propose(entry: LogEntry): void {
    if (this.failed) return;
    this.pending.push(entry);
    if (this.wake && !this.scheduled) {
      // The writer is idle between fsyncs: let this I/O turn's entries gather, then wake it.
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.wake?.();
      });
      return;
    }
    if (!this.writing && !this.scheduled) {
      this.scheduled = true;
      // Let every request of this I/O turn join the batch before writing.
      setImmediate(() => {
        this.scheduled = false;
        void this.drain();
      });
    }
  }

  /** Resolves once nothing is pending or being written. */
  idle(): Promise<void> {
    if (!this.writing && !this.scheduled && this.pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Writes batches in order; each batch's fsync runs while the next batch is
   * written (at most SYNCS_IN_FLIGHT at once). An fsync that started after
   * batch N was written makes every batch up to N durable, so durability is
   * reported as the highest such zxid, never out of order.
   */
  private async drain(): Promise<void> {
    if (this.writing) return;
    this.writing = true;
    const syncs = new Set<Promise<void>>();
    try {
      while ((this.pending.length > 0 || syncs.size > 0) && !this.failed) {
        if (syncs.size >= SYNCS_IN_FLIGHT) {
          await Promise.race(syncs);
          continue;
        }
        if (this.pending.length === 0) {
          // Wait for an fsync to finish, or for new work that can be written meanwhile.
          await Promise.race([...syncs, new Promise<void>((resolve) => (this.wake = resolve))]);
          this.wake = null;
          continue;
        }
        let batch: LogEntry[];
        if (this.pending.length <= limits.commitBatchMax) {
          batch = this.pending;
          this.pending = [];
        } else {
          batch = this.pending.splice(0, limits.commitBatchMax);
        }
        await this.log.write(batch);
        const written = (batch[batch.length - 1] as LogEntry).zxid;
        const sync: Promise<void> = this.log.sync().then(
          () => {
            syncs.delete(sync);
            if (written > this.durableZxid) {
              this.durableZxid = written;
              this.onDurable(written);
            }
          },
          (err: unknown) => {
            syncs.delete(sync);
            this.fail(err);
          },
        );
        syncs.add(sync);
      }
    } catch (err) {
      this.fail(err);
    } finally {
      this.writing = false;
      const waiters = this.idleWaiters.splice(0);
      for (const w of waiters) w();
    }
  }

  private fail(err: unknown): void {
    if (this.failed) return;
    this.failed = err instanceof Error ? err : new Error(String(err));
    this.onError(this.failed);
  }
}
