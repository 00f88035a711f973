/**
 * Bundles settling together go out in one multi (docs/adr/0006-run-bundles.md).
 * A bundle's settle is a handful of ops (its record, its lease and inflight,
 * its history entries), so a multi of its own was almost all per-transaction
 * cost: the members' fsync, proposal and commit round, and wake-ups, for
 * each bundle. Settles submitted in the same turn, or while a batch is in
 * flight, share the next multi (one in flight, as the single-run finishes:
 * batches grow when the ensemble is the bottleneck).
 *
 * Contract: `submit(ops)` resolves true once the ops landed, all or nothing
 * with the batch; false when the batch failed (or would not fit one multi),
 * and then nothing of it was applied (the client answers a lost reply as
 * applied or not, write-witness.ts) and the bundle settles alone, with its
 * own retries, so one fenced bundle cannot fail the others (a bundle alone
 * in a failed batch is sent twice: only when its settle fails anyway).
 */
import type { Coordination, Op } from '../../shared/client/coordination.ts';
import { MULTI_BYTES_TARGET, MULTI_OPS_MAX } from '../../shared/jobs/limits.ts';

interface Entry {
  ops: Op[];
  bytes: number;
  resolve: (landed: boolean) => void;
}

/** A multi op's size on the wire, roughly: its path, its data, and the fixed fields. */
function opBytes(op: Op): number {
  return op.path.length + 32 + ('data' in op && op.data ? op.data.length : 0);
}

export class SettleBatch {
  private pending: Entry[] = [];
  private scheduled = false;
  private inFlight = false;

  constructor(private readonly client: Coordination) {}

  submit(ops: Op[]): Promise<boolean> {
    let bytes = 0;
    for (const op of ops) bytes += opBytes(op);
    if (ops.length > MULTI_OPS_MAX || bytes > MULTI_BYTES_TARGET) return Promise.resolve(false);
    return new Promise((resolve) => {
      this.pending.push({ ops, bytes, resolve });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  /** Sends what is pending, a multi's worth at a time; the rest waits for the next flush. */
  private async flush(): Promise<void> {
    if (this.inFlight || this.pending.length === 0) return;
    const batch: Entry[] = [];
    let ops = 0;
    let bytes = 0;
    while (this.pending.length > 0) {
      const e = this.pending[0] as Entry;
      if (batch.length > 0 && (ops + e.ops.length > MULTI_OPS_MAX || bytes + e.bytes > MULTI_BYTES_TARGET)) break;
      this.pending.shift();
      batch.push(e);
      ops += e.ops.length;
      bytes += e.bytes;
    }
    this.inFlight = true;
    let landed = false;
    try {
      await this.client.multi(batch.length === 1 ? (batch[0] as Entry).ops : batch.flatMap((e) => e.ops));
      landed = true;
    } catch {
      // Nothing of the batch was applied: each bundle settles alone, with its own error handling.
      landed = false;
    } finally {
      this.inFlight = false;
    }
    for (const e of batch) e.resolve(landed);
    if (this.pending.length > 0) this.schedule();
  }
}
