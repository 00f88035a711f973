/**
 * Every znode path the framework uses, in one place (as BullMQ's
 * queue-keys.ts owns its key layout). Paths are relative to the client's
 * namespace root (default '/drover'), so one ensemble can host many
 * clusters. Nothing else in the framework builds a path by hand.
 *
 *   /workers/w-NNNNNNNNNN            EPHEMERAL_SEQUENTIAL  WorkerInfo JSON
 *   /scheduler/c-NNNNNNNNNN          EPHEMERAL_SEQUENTIAL  scheduler candidates (lowest leads)
 *   /scheduler/state                 PERSISTENT  { leader, since } of the current scheduler
 *   /jobs/<job>                      PERSISTENT  JobSpec JSON (written by workers that define it)
 *   /jobs/<job>/paused               PERSISTENT  present while the job's queue is paused
 *   /queues/<job>/tail               PERSISTENT  next index to append, decimal text
 *   /queues/<job>/head               PERSISTENT  next index to reserve, decimal text (CAS by version)
 *   /queues/<job>/items/i-<index16>  PERSISTENT  a runId waiting in FIFO order; deleted by the claim
 *   /queues/<job>/p<N>/{head,tail,items/i-<index16>}  the same, one lane per priority N (0..9):
 *                                    the queue the runtime uses (lanes made on first use; claimers
 *                                    take from the lowest-numbered non-empty lane)
 *   /barriers/<job>-<group>          PERSISTENT  BarrierState JSON of a barrier run group (CAS by version)
 *   /runs/<job>/<runId>              PERSISTENT  RunRecord JSON; its version is the fence
 *   /runs/<job>/<bundleId>           PERSISTENT  BundleRecord JSON (b-…): many runs `<bundleId>.<k>` in one
 *                                    record, which is also their queue item, lease, inflight and
 *                                    history name below (docs/adr/0006-run-bundles.md)
 *   /leases/<job>/<claimId>          EPHEMERAL   ClaimGroupInfo of a claim group `c-<ms>-<rand>`: the single
 *                                    runs one claim took (shared/jobs/claim-group.ts); the claiming
 *                                    worker's session owns it. A bundle's is named by the bundle id
 *                                    (LeaseInfo); a run id is the layout before claim groups
 *   /inflight/<job>/<claimId>        PERSISTENT  the same names, from claim until the group's runs have all
 *                                    landed; the group's data lists them (and a range still reserved);
 *                                    inflight minus leases = orphans
 *   /delayed/<job>/d-<dueMs13>-<runId>  PERSISTENT  delayed/backoff runs, sorted by due time
 *   /cancel/<job>/<runId>            PERSISTENT  a cancel request for a queued or active run
 *   /history/<job>/<state>/h-<endMs13>-<runId>  PERSISTENT  finished runs by final state, <state> one of
 *                                    succeeded | failed | cancelled (HISTORY_STATES); each directory is
 *                                    pruned on its own to history.keep, and all to maxAgeMs. Counts per
 *                                    state are its Stat.numChildren. A bundle has an entry (the same name)
 *                                    in the directory of each of those states its runs ended in, none
 *                                    when all of them are dead (docs/adr/0008-operator-reads-by-page.md)
 *   /history/<job>/h-<endMs13>-<runId>  PERSISTENT  legacy: where entries went before the split; the
 *                                    history pruner moves each into its state directories
 *   /dead/<job>/<runId>              PERSISTENT  dead-lettered runs (attempts exhausted)
 *   /schedules/<job>                 PERSISTENT  ScheduleState JSON
 *   /schedules/<job>/fires/f-<fireMs13>  PERSISTENT  tick T fired (created in the run's multi)
 *   /partitions/<job>/members/m-NNNNNNNNNN  EPHEMERAL_SEQUENTIAL  a consumer (data: workerId)
 *   /partitions/<job>/assignment     PERSISTENT  Assignment JSON { generation, ranges }
 *   /partitions/<job>/owners/p-<n>   EPHEMERAL   the owner of partition n (data: workerId, generation)
 *   /partitions/<job>/log/e-NNNNNNNNNN  PERSISTENT_SEQUENTIAL  rebalance timeline (bounded)
 *   /barriers/<group>/...            barrier and double-barrier recipes' nodes
 *   /locks/<name>/...                lock recipes' nodes
 *   /.writes/<session>-<slot>        EPHEMERAL   the client's write witnesses, not the framework's
 *                                    (shared/client/write-witness.ts, docs/adr/0009-write-witness.md)
 */

import type { HistoryState } from './job-types.ts';

export const DEFAULT_ROOT = '/drover';

/** The final states history keeps a directory for (dead runs are in /dead/<job>), in listing order. */
export const HISTORY_STATES: readonly HistoryState[] = ['succeeded', 'failed', 'cancelled'];

/** Job names (and other user-chosen path segments) must be safe znode names. */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** Sequence-like numbers are zero-padded so names sort as numbers. */
export function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

export const layout = {
  workers: '/workers',
  worker: (name: string) => `/workers/${name}`,
  workerPrefix: '/workers/w-',

  scheduler: '/scheduler',
  schedulerCandidatePrefix: '/scheduler/c-',
  schedulerState: '/scheduler/state',

  jobs: '/jobs',
  job: (job: string) => `/jobs/${job}`,
  jobPaused: (job: string) => `/jobs/${job}/paused`,

  /** Parents of the per-job directories: their children are job names. */
  queuesRoot: '/queues',
  runsRoot: '/runs',
  queue: (job: string) => `/queues/${job}`,
  queueTail: (job: string) => `/queues/${job}/tail`,
  queueHead: (job: string) => `/queues/${job}/head`,
  queueItems: (job: string) => `/queues/${job}/items`,
  queueItem: (job: string, index: number) => `/queues/${job}/items/i-${pad(index, 16)}`,

  /** Priority lanes: the per-priority FIFO queues the runtime enqueues to and claims from. */
  lanes: (job: string) => `/queues/${job}`,
  lane: (job: string, priority: number) => `/queues/${job}/p${priority}`,
  laneTail: (job: string, priority: number) => `/queues/${job}/p${priority}/tail`,
  laneHead: (job: string, priority: number) => `/queues/${job}/p${priority}/head`,
  laneItems: (job: string, priority: number) => `/queues/${job}/p${priority}/items`,
  laneItem: (job: string, priority: number, index: number) => `/queues/${job}/p${priority}/items/i-${pad(index, 16)}`,

  runs: (job: string) => `/runs/${job}`,
  run: (job: string, runId: string) => `/runs/${job}/${runId}`,
  leasesRoot: '/leases',
  leases: (job: string) => `/leases/${job}`,
  lease: (job: string, runId: string) => `/leases/${job}/${runId}`,
  inflight: (job: string) => `/inflight/${job}`,
  inflightRun: (job: string, runId: string) => `/inflight/${job}/${runId}`,
  delayed: (job: string) => `/delayed/${job}`,
  delayedRun: (job: string, dueMs: number, runId: string) => `/delayed/${job}/d-${pad(dueMs, 13)}-${runId}`,
  cancels: (job: string) => `/cancel/${job}`,
  cancel: (job: string, runId: string) => `/cancel/${job}/${runId}`,
  /** The job's history: its children are the state directories (and legacy entries, until sorted). */
  history: (job: string) => `/history/${job}`,
  historyDir: (job: string, state: HistoryState) => `/history/${job}/${state}`,
  historyEntry: (job: string, state: HistoryState, endMs: number, runId: string) => `/history/${job}/${state}/h-${pad(endMs, 13)}-${runId}`,
  /** An entry of the layout before history was split by state (`name` is `h-<endMs13>-<id>`). */
  legacyHistoryEntry: (job: string, name: string) => `/history/${job}/${name}`,
  dead: (job: string) => `/dead/${job}`,
  deadRun: (job: string, runId: string) => `/dead/${job}/${runId}`,

  schedules: '/schedules',
  schedule: (job: string) => `/schedules/${job}`,
  fires: (job: string) => `/schedules/${job}/fires`,
  fire: (job: string, fireMs: number) => `/schedules/${job}/fires/f-${pad(fireMs, 13)}`,

  partitionsRoot: '/partitions',
  partitions: (job: string) => `/partitions/${job}`,
  partitionMembers: (job: string) => `/partitions/${job}/members`,
  partitionMemberPrefix: (job: string) => `/partitions/${job}/members/m-`,
  partitionAssignment: (job: string) => `/partitions/${job}/assignment`,
  partitionOwners: (job: string) => `/partitions/${job}/owners`,
  partitionOwner: (job: string, partition: number) => `/partitions/${job}/owners/p-${partition}`,
  partitionLog: (job: string) => `/partitions/${job}/log`,
  partitionLogPrefix: (job: string) => `/partitions/${job}/log/e-`,

  barriers: '/barriers',
  barrier: (group: string) => `/barriers/${group}`,
  /** A barrier run group of a job (job-types BarrierState). */
  runGroup: (job: string, group: string) => `/barriers/${job}-${group}`,
  locks: '/locks',
  lock: (name: string) => `/locks/${name}`,
} as const;

/** The lane name `p3` -> 3, or NaN for anything else under /queues/<job>. */
export function laneOf(name: string): number {
  const m = /^p(\d)$/.exec(name);
  return m?.[1] ? Number(m[1]) : Number.NaN;
}

/** The trailing 10-digit sequence of a sequential node's name (`w-0000000007` -> 7). */
export function sequenceOf(name: string): number {
  const m = /(\d{10})$/.exec(name);
  if (!m?.[1]) return Number.NaN;
  return Number(m[1]);
}
