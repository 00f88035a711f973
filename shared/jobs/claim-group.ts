/**
 * Claim groups: the single runs one claim multi takes share ONE lease and
 * ONE inflight znode, named by the claim (`c-<ms>-<rand>`), instead of a
 * lease and an inflight per run — four of the nine writes a run cost from
 * claim to finish (docs/jobs.md, "Single-run performance").
 *
 *   /leases/<job>/<claimId>    EPHEMERAL   ClaimGroupInfo: the claiming worker's session owns it
 *   /inflight/<job>/<claimId>  PERSISTENT  ClaimGroupInfo, its `runs` shrinking as finishes land
 *
 * A claim reserves first: one small multi moves the lane heads past the
 * slots it will take and creates the group with their range, so two
 * workers never read the same items and a lost race costs two reads, not a
 * claim's worth. Then it reads the reserved items and their records and
 * takes them (items deleted, records set active, the range replaced by the
 * runs) — in one multi, or a few when the records are large.
 *
 * The records stay the truth: a run of the group is active while its record
 * says active, by the group's worker, started at the group's `at`. The
 * inflight's run list may name runs that have finished since (it is rewritten
 * in the worker's next finish multi, and deleted once every run has landed)
 * but never leaves out one still active, so recovery of a group whose lease
 * is gone re-queues exactly its runs that are still active by that claim.
 *
 * Inflight and lease children are of three shapes: a claim group, a bundle
 * (`b-…`, one lease for its runs, docs/adr/0006-run-bundles.md) or a run id
 * (the layout before claim groups; still recovered and listed).
 */
import type { Coordination } from '../client/coordination.ts';
import { isZkError } from '../client/zk-error.ts';
import type { RunRecord } from './job-types.ts';
import { layout } from './layout.ts';
import { encodeJson } from './run-codec.ts';
import { isClaimId } from './run-id.ts';

/** What a claim group's lease and inflight hold. */
export interface ClaimGroupInfo {
  v: 1;
  /** The claiming worker (the record's `worker` while the run is active by this claim). */
  worker: string;
  /** When the claim was made: every run it made active has `startedAt` = at. */
  at: number;
  /** The group's runs (the inflight's: those whose finish has not landed yet). */
  runs: string[];
  /**
   * Lane slots reserved by the claim and not taken yet (the claim moved the
   * heads past them first, so no other claimer reads them): [from, to) per
   * lane. Recovery puts the items still there back on their lanes.
   */
  range?: ClaimRange[];
}

export interface ClaimRange {
  priority: number;
  from: number;
  to: number;
}

export function encodeClaimGroup(info: ClaimGroupInfo): Buffer {
  return encodeJson(info);
}

/** A claim group's info from its znode's bytes; null when they are not one. */
export function decodeClaimGroup(data: Buffer): ClaimGroupInfo | null {
  try {
    const parsed = JSON.parse(data.toString('utf8')) as Partial<ClaimGroupInfo>;
    if (typeof parsed.worker !== 'string' || typeof parsed.at !== 'number' || !Array.isArray(parsed.runs)) return null;
    const info: ClaimGroupInfo = { v: 1, worker: parsed.worker, at: parsed.at, runs: parsed.runs.filter((r): r is string => typeof r === 'string') };
    if (Array.isArray(parsed.range)) {
      info.range = parsed.range.filter((r): r is ClaimRange => Number.isInteger(r?.priority) && Number.isInteger(r?.from) && Number.isInteger(r?.to));
    }
    return info;
  } catch {
    return null;
  }
}

/** A lease's or inflight's info when `name` is a claim group's and its data is one; null for a bundle's or a run's. */
export function claimGroupNamed(name: string, data: Buffer | null | undefined): ClaimGroupInfo | null {
  return data && isClaimId(name) ? decodeClaimGroup(data) : null;
}

/** The group's inflight info, null when it is gone (or not a group). */
export async function readClaimGroup(client: Coordination, job: string, claimId: string, path = layout.inflightRun(job, claimId)): Promise<ClaimGroupInfo | null> {
  try {
    return decodeClaimGroup((await client.get(path)).data);
  } catch (err) {
    if (isZkError(err, 'NO_NODE')) return null;
    throw err;
  }
}

/** True while `record` is active by the claim `info` describes (not finished, not re-claimed since). */
export function activeByClaim(record: RunRecord, info: ClaimGroupInfo): boolean {
  return record.state === 'active' && record.worker === info.worker && record.startedAt === info.at;
}

/** What an inflight (or lease) name stands for (expandInflight). */
export interface ExpandedName {
  name: string;
  /** A claim group's runs as its inflight lists them now ([] once it is gone); null for a run's or a bundle's name. */
  runs: string[] | null;
  /** The group's info (its worker and `at` tell which of its runs are still active by it); null when not a live group. */
  claim: ClaimGroupInfo | null;
}

/**
 * The ids of the runs each inflight (or lease) name stands for, in name
 * order: a claim group's runs as its inflight lists them now (one read per
 * group; [] once it is gone), else null: the name is a run, or a bundle the
 * caller expands. What the active counts and listings go through.
 */
export async function expandInflight(client: Coordination, job: string, names: readonly string[]): Promise<ExpandedName[]> {
  return Promise.all(
    names.map(async (name): Promise<ExpandedName> => {
      if (!isClaimId(name)) return { name, runs: null, claim: null };
      const claim = await readClaimGroup(client, job, name);
      return { name, runs: claim?.runs ?? [], claim };
    }),
  );
}
