/**
 * The seam between the worker runtime (which runs handlers) and the
 * partition member (worker/partitions/partition-member.ts, which decides
 * which partitions this worker owns). The runtime implements PartitionHost
 * and hands it to `startPartitionMember`; the member calls `runPartition`
 * once per partition it comes to own and aborts the signal when it must give
 * the partition up (rebalance, SUSPENDED, LOST, shutdown). Ownership is the
 * member's business; running the handler, its progress and its logs are the
 * runtime's.
 */
import type { Logger } from 'pino';
import type { Coordination } from '../../shared/client/coordination.ts';
import type { JobSpec } from '../../shared/jobs/job-types.ts';

export interface PartitionRunOptions {
  job: string;
  partition: number;
  /** The assignment generation this ownership belongs to (goes into ctx.fence). */
  generation: number;
  /** Aborted by the member when the partition must be released. */
  signal: AbortSignal;
}

export interface PartitionHost {
  /** This worker's id (w-NNNNNNNNNN). */
  readonly workerId: string;
  readonly client: Coordination;
  readonly logger: Logger;
  /** The partitioned jobs this worker runs (spec.partitions set). */
  partitionedJobs(): JobSpec[];
  /**
   * Runs the job's handler for one owned partition with ctx.partition set,
   * ctx.fence = `${job}:p${partition}:g${generation}` and ctx.signal = the
   * given signal. Resolves when the handler returns or throws (the error is
   * logged, never rethrown); the member decides whether to run it again.
   * The handler is expected to loop until its signal aborts (a consumer).
   * It runs in the worker's partition threads (inline: on its event loop);
   * when this resolves, the loop has ended (a threaded loop deaf to its
   * signal past abortGraceMs has its thread terminated).
   */
  runPartition(opts: PartitionRunOptions): Promise<{ ok: boolean; error?: { code: string; message: string } }>;
}

/** What `startPartitionMember` returns; the runtime closes it on shutdown. */
export interface PartitionMemberHandle {
  close(): Promise<void>;
}
