/**
 * Where a claimed run's lease and inflight are: a claim group's
 * (shared/jobs/claim-group.ts) for the runs one claim took, the bundle's or
 * the run's own for the older shapes. Tests that wait for a lease to go or an
 * orphan to show find it here instead of assuming a per-run name.
 */
import type { Coordination } from '../../shared/client/coordination.ts';
import { readClaimGroup } from '../../shared/jobs/claim-group.ts';
import { layout } from '../../shared/jobs/layout.ts';
import { isClaimId } from '../../shared/jobs/run-id.ts';

/** The inflight name holding `runId` (its claim group, or its own name), or null when none does. */
export async function inflightNameOf(client: Coordination, job: string, runId: string): Promise<string | null> {
  let names: string[];
  try {
    names = await client.children(layout.inflight(job));
  } catch {
    return null;
  }
  for (const name of names) {
    if (name === runId) return name;
    if (!isClaimId(name)) continue;
    const info = await readClaimGroup(client, job, name);
    if (info?.runs.includes(runId)) return name;
  }
  return null;
}
