/**
 * The live workers and what they hold, read from the nodes that are the
 * truth of it: /workers children (ephemeral, so only live sessions) and
 * their WorkerInfo, and the leases of each job. Costs O(workers) and
 * O(jobs + claims held), never O(backlog): what `drover status`,
 * `drover jobs` and job removal read instead of mirroring the tree.
 */
import { childrenOrEmpty } from '../client/absent-ok.ts';
import type { Coordination } from '../client/coordination.ts';
import { isZkError } from '../client/zk-error.ts';
import { claimGroupNamed, readClaimGroup, type ClaimGroupInfo } from './claim-group.ts';
import type { LeaseInfo, WorkerInfo } from './job-types.ts';
import { layout, sequenceOf } from './layout.ts';

export interface LiveWorker {
  /** w-NNNNNNNNNN */
  name: string;
  /** null when the node's data is not WorkerInfo (then it serves no job we can name). */
  info: WorkerInfo | null;
  /** The session owning the node. */
  session: string;
}

function workerInfoOf(data: Buffer): WorkerInfo | null {
  try {
    const info = JSON.parse(data.toString('utf8')) as Partial<WorkerInfo> | null;
    if (typeof info !== 'object' || info === null || !Array.isArray(info.jobs)) return null;
    return { ...info, jobs: info.jobs.filter((j): j is string => typeof j === 'string') } as WorkerInfo;
  } catch {
    return null;
  }
}

/** Every registered worker, in join order. */
export async function liveWorkers(client: Coordination): Promise<LiveWorker[]> {
  const names = (await childrenOrEmpty(client, layout.workers)).filter((n) => n.startsWith('w-')).sort((a, b) => sequenceOf(a) - sequenceOf(b));
  const read = await Promise.all(
    names.map(async (name): Promise<LiveWorker | null> => {
      try {
        const { data, stat } = await client.get(layout.worker(name));
        return { name, info: workerInfoOf(data), session: stat.ephemeralOwner };
      } catch (err) {
        if (isZkError(err, 'NO_NODE')) return null; // its session ended meanwhile
        throw err;
      }
    }),
  );
  return read.filter((w): w is LiveWorker => w !== null);
}

/** The live workers whose WorkerInfo lists `job`. */
export async function workersServing(client: Coordination, job: string): Promise<string[]> {
  return (await liveWorkers(client)).filter((w) => w.info?.jobs.includes(job)).map((w) => w.name);
}

export interface Claim {
  job: string;
  /** The leased name: a run, or a bundle (one lease for its runs); for a claim group's lease, each of its runs. */
  runId: string;
  /** The lease's attempt (a claim group's lease has none: its runs' attempts are in their records). */
  attempt?: number;
}

/**
 * The claims each worker holds (its leases), by worker name: one read per
 * job and per lease held, and one more per claim group (its inflight: the
 * group's lease keeps the runs it claimed, its inflight those whose finish
 * has not landed yet).
 */
export async function claimsByWorker(client: Coordination, jobs: readonly string[]): Promise<Map<string, Claim[]>> {
  const out = new Map<string, Claim[]>();
  const add = (worker: string, claims: Claim[]): void => {
    out.set(worker, [...(out.get(worker) ?? []), ...claims]);
  };
  await Promise.all(
    jobs.map(async (job) => {
      const leased = await childrenOrEmpty(client, layout.leases(job));
      await Promise.all(
        leased.map(async (name) => {
          let data: Buffer;
          try {
            data = (await client.get(layout.lease(job, name))).data;
          } catch {
            return; // ended meanwhile, or not ours to read
          }
          const group = claimGroupNamed(name, data);
          if (group) {
            add(group.worker, (await groupRuns(client, job, name, group)).map((runId) => ({ job, runId })));
            return;
          }
          const lease = leaseOf(data);
          if (typeof lease?.worker !== 'string') return;
          add(lease.worker, [{ job, runId: name, ...(typeof lease.attempt === 'number' ? { attempt: lease.attempt } : {}) }]);
        }),
      );
    }),
  );
  return out;
}

function leaseOf(data: Buffer): Partial<LeaseInfo> | null {
  try {
    return JSON.parse(data.toString('utf8')) as Partial<LeaseInfo> | null;
  } catch {
    return null;
  }
}

/**
 * A leased group's runs not landed yet: its inflight's list (none once it
 * is gone: the group closed meanwhile), or the lease's when the inflight
 * cannot be read.
 */
async function groupRuns(client: Coordination, job: string, claimId: string, lease: ClaimGroupInfo): Promise<string[]> {
  try {
    return (await readClaimGroup(client, job, claimId))?.runs ?? [];
  } catch {
    return lease.runs;
  }
}
