/**
 * The runtime's entry point to partitions: one JobPartitionMember per
 * partitioned job the host runs (see job-partition-member.ts for the
 * protocol and what SUSPENDED and LOST mean for ownership).
 */
import type { JobSpec } from '../../shared/jobs/job-types.ts';
import { JobPartitionMember } from './job-partition-member.ts';
import type { PartitionHost, PartitionMemberHandle } from './partition-host.ts';
import { componentLogger } from '../../shared/log.ts';

export interface PartitionMemberOptions {
  /** Default: every job of host.partitionedJobs() with partitions > 0. */
  jobs?: JobSpec[];
  restartDelayMs?: number;
}

export interface PartitionMembership extends PartitionMemberHandle {
  /** The per-job members, for status and tests. */
  readonly members: ReadonlyMap<string, JobPartitionMember>;
}

export async function startPartitionMember(host: PartitionHost, opts: PartitionMemberOptions = {}): Promise<PartitionMembership> {
  const specs = (opts.jobs ?? host.partitionedJobs()).filter((s) => (s.partitions ?? 0) > 0);
  const members = new Map<string, JobPartitionMember>();
  try {
    for (const spec of specs) {
      const m = new JobPartitionMember({
        host,
        job: spec.name,
        partitions: spec.partitions as number,
        // The runtime's host logger may already be bound to this component; bind it once.
        logger: (/(^|\/)partitions$/.test(String(host.logger.bindings()['component'])) ? host.logger : componentLogger(host.logger, 'partitions')).child({ job: spec.name }),
        ...(opts.restartDelayMs !== undefined ? { restartDelayMs: opts.restartDelayMs } : {}),
      });
      members.set(spec.name, m);
      await m.start();
    }
  } catch (err) {
    for (const m of members.values()) await m.close();
    throw err;
  }
  return {
    members,
    async close() {
      for (const m of members.values()) await m.close();
    },
  };
}
