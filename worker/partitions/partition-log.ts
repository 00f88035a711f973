/**
 * partitions/<job>/log: the rebalance timeline, one PERSISTENT_SEQUENTIAL
 * entry per assignment change with its reason and moves, bounded to the
 * last `keep` entries. Appends happen once per rebalance, so trimming lists
 * the log (about `keep` names, one read) after each append.
 */
import type { Coordination } from '../../shared/client/coordination.ts';
import { isZkError } from '../../shared/client/zk-error.ts';
import { layout, sequenceOf } from '../../shared/jobs/layout.ts';
import type { PartitionMove } from './assign.ts';
import { childrenOrEmpty, deleteIfPresent } from '../../shared/client/absent-ok.ts';

export const PARTITION_LOG_KEEP = 100;

export interface PartitionLogEntry {
  v: 1;
  generation: number;
  reason: string;
  moves: PartitionMove[];
  /** The worker that published the assignment. */
  by: string;
  at: number;
}

export async function appendPartitionLog(client: Coordination, job: string, entry: PartitionLogEntry, keep = PARTITION_LOG_KEEP): Promise<void> {
  await client.create(layout.partitionLogPrefix(job), Buffer.from(JSON.stringify(entry)), { mode: 'persistent_sequential' });
  const names = await client.children(layout.partitionLog(job));
  if (names.length <= keep) return;
  names.sort((a, b) => sequenceOf(a) - sequenceOf(b));
  for (const n of names.slice(0, names.length - keep)) await deleteIfPresent(client, `${layout.partitionLog(job)}/${n}`);
}

export async function readPartitionLog(client: Coordination, job: string): Promise<PartitionLogEntry[]> {
  const names = await childrenOrEmpty(client, layout.partitionLog(job));
  names.sort((a, b) => sequenceOf(a) - sequenceOf(b));
  const out: PartitionLogEntry[] = [];
  for (const n of names) {
    try {
      const { data } = await client.get(`${layout.partitionLog(job)}/${n}`);
      out.push(JSON.parse(data.toString('utf8')) as PartitionLogEntry);
    } catch (err) {
      if (!isZkError(err, 'NO_NODE')) throw err; // trimmed meanwhile
    }
  }
  return out;
}
