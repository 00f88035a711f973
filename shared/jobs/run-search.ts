/**
 * Which job holds a run with this id: the dashboard's search box. Run ids
 * are unique per job, not across jobs (an explicit runId may repeat in
 * another job), so every job is asked: one read per job of the znode that
 * would hold the run (its own record, or its bundle's for `b-….k`).
 * O(jobs), whatever the number of runs.
 */
import type { Coordination } from '../client/coordination.ts';
import { DroverError } from '../errors.ts';
import type { RunState } from './job-types.ts';
import { jobNames } from './job-counts.ts';
import { NAME_PATTERN } from './layout.ts';
import { readRunView, recordPathOf } from './run-lookup.ts';

export interface FoundRun {
  job: string;
  id: string;
  state: RunState;
  /** The znode holding its record (a bundled run's is its bundle's). */
  path: string;
}

/** Jobs read at once: enough to hide round trips, few enough not to flood the client with thousands of jobs. */
const READS_AT_ONCE = 32;

export async function findRun(client: Coordination, runId: string): Promise<FoundRun[]> {
  if (!NAME_PATTERN.test(runId)) throw new DroverError('DROVER_INVALID_ARGUMENT', `'${runId}' is not a run id (letters, digits, '_', '.', '-'; at most 128)`);
  const jobs = await jobNames(client);
  const found: FoundRun[] = [];
  for (let i = 0; i < jobs.length; i += READS_AT_ONCE) {
    const batch = jobs.slice(i, i + READS_AT_ONCE);
    const views = await Promise.all(
      batch.map((job) =>
        readRunView(client, job, runId).catch((err: unknown) => {
          // A record that does not decode is not this run; the search goes on.
          if (err instanceof DroverError) return null;
          throw err;
        }),
      ),
    );
    views.forEach((v, k) => {
      const job = batch[k] as string;
      if (v !== null) found.push({ job, id: runId, state: v.record.state, path: recordPathOf(job, runId) });
    });
  }
  return found;
}
