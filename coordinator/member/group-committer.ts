/**
 * Group commit for a standalone member: every txn prepared while the previous
 * batch was being written goes out in the next batch, one write and one fsync
 * for all of them (ZooKeeper's SyncRequestProcessor does the same). Durable
 * zxids are reported in order; replies wait for them.
 */
import type { TxnLog } from '../storage/txn-log.ts';
import { limits } from '../base/limits.ts';

export interface LogEntry {
  zxid: number;
  bytes: Buffer;
}

export class GroupCommitter {
  private pending: LogEntry[] = [];
  private writing = false;
  private scheduled = false;
  private failed: Error | null = null;
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

  private async drain(): Promise<void> {
    if (this.writing) return;
    this.writing = true;
    try {
      while (this.pending.length > 0 && !this.failed) {
        let batch: LogEntry[];
        if (this.pending.length <= limits.commitBatchMax) {
          batch = this.pending;
          this.pending = [];
        } else {
          batch = this.pending.splice(0, limits.commitBatchMax);
        }
        await this.log.append(batch);
        const last = batch[batch.length - 1] as LogEntry;
        this.durableZxid = last.zxid;
        this.onDurable(last.zxid);
      }
    } catch (err) {
      this.failed = err instanceof Error ? err : new Error(String(err));
      this.onError(this.failed);
    } finally {
      this.writing = false;
      const waiters = this.idleWaiters.splice(0);
      for (const w of waiters) w();
    }
  }
}
