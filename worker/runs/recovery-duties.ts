/** The runtime's recovery duties in the shape the scheduler drives them (worker/scheduler/recovery-driver.ts). */
import type { RecoveryDuties } from '../scheduler/recovery-driver.ts';
import { promoteDue, pruneHistory, requeueOrphans } from '../../shared/jobs/recovery.ts';

export const recoveryDuties: RecoveryDuties = {
  // The driver passes the orphans it saw; requeueOrphans re-derives them (inflight minus leases)
  // because only a fresh read, in that order, makes the decision safe.
  requeueOrphans: async (client, job) => {
    const r = await requeueOrphans(client, job);
    return r.requeued.length + r.dead.length;
  },
  promoteDue,
  pruneHistory: (client, spec, nowMs) => pruneHistory(client, spec.name, spec, nowMs),
};
