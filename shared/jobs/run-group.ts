/**
 * Barrier run groups, the leave side (the arrive side is in enqueue.ts):
 * each member's finish moves the group's `left` count by a CAS in the same
 * multi as the finish, so exactly one finish sees left == size, and that one
 * multi also enqueues the group's follow-up (map -> reduce): exactly one
 * follow-up, never zero, never two.
 */
import type { Coordination, Op } from '../client/coordination.ts';
import { isDroverError } from '../errors.ts';
import type { BarrierState } from './job-types.ts';
import { ensureJobDirs, readJobSpec } from './job-dirs.ts';
import { layout } from './layout.ts';
import { prepare } from './enqueue.ts';
import { appendOps, readLaneTails } from './queue-append.ts';
import { decodeJson, encodeJson, encodeRecord } from './run-codec.ts';

/** Ops that record one member leaving group `groupId` of `job` (and, for the last, the follow-up). */
export async function groupLeaveOps(client: Coordination, job: string, groupId: string, base: number, retryable: Set<number>): Promise<Op[]> {
  const path = layout.runGroup(job, groupId);
  let found;
  try {
    found = await client.get(path);
  } catch {
    return []; // the group node was pruned or never made: nothing to count
  }
  const state = decodeJson<BarrierState>(found.data, `barrier ${path}`);
  const next: BarrierState = { ...state, left: state.left + 1 };
  const ops: Op[] = [];
  const followUps: Op[] = [];
  if (next.left === next.size && next.then && !next.followUp) {
    try {
      const spec = await readJobSpec(client, next.then.job);
      await ensureJobDirs(client, next.then.job);
      const prepared = prepare(next.then.job, spec, { input: next.then.input }, Date.now());
      next.followUp = prepared.runId;
      const tails = await readLaneTails(client, next.then.job, [prepared.record.priority]);
      followUps.push(
        ...appendOps(next.then.job, tails, [{ runId: prepared.runId, priority: prepared.record.priority }], base + 1, retryable),
        { op: 'create', path: layout.run(next.then.job, prepared.runId), data: encodeRecord(prepared.record) },
      );
    } catch (err) {
      if (!isDroverError(err)) throw err;
      // An unknown or invalid follow-up must not keep the member from finishing.
      next.followUp = `error: ${err.message}`;
    }
  }
  retryable.add(base);
  ops.push({ op: 'set', path, data: encodeJson(next), version: found.stat.version }, ...followUps);
  return ops;
}
