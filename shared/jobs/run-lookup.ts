/**
 * Reading a run by id, whether its record is its own (/runs/<job>/<runId>)
 * or its bundle's (/runs/<job>/<bundleId>, run `<bundleId>.<k>`): the one
 * place that resolves a run id, so admin actions, the CLI and recovery agree.
 */
import type { Coordination } from '../client/coordination.ts';
import { isZkError } from '../client/zk-error.ts';
import { DroverError } from '../errors.ts';
import type { BundleRecord, RunRecord } from './job-types.ts';
import { layout } from './layout.ts';
import { decodeStored, type StoredRecord } from './run-codec.ts';
import { splitBundledRunId } from './run-id.ts';

export interface RunView {
  /** The run's own record, or its entry in the bundle. */
  record: RunRecord;
  /** The version of the znode holding it (the run's or the bundle's): the fence of any write. */
  version: number;
  /** Set for a bundled run: the whole bundle and the run's index in it. */
  bundle?: { record: BundleRecord; index: number };
}

/** The znode that holds a run's record. */
export function recordPathOf(job: string, runId: string): string {
  return layout.run(job, splitBundledRunId(runId)?.bundleId ?? runId);
}

/** Every run a stored record holds (one, or a bundle's). */
export function runsOf(stored: StoredRecord): RunRecord[] {
  return stored.kind === 'bundle' ? stored.bundle.runs : [stored.record];
}

/** The run's record in what its znode holds (its own, or its entry in a bundle); DROVER_RUN_NOT_FOUND when it holds no such run. */
export function runIn(data: Buffer, path: string, runId: string): RunRecord {
  const stored = decodeStored(data, path);
  const split = splitBundledRunId(runId);
  if (split === null) {
    if (stored.kind === 'run') return stored.record;
  } else if (stored.kind === 'bundle') {
    const record = stored.bundle.runs[split.index];
    if (record?.id === runId) return record;
  }
  throw new DroverError('DROVER_RUN_NOT_FOUND', `${path} does not hold run ${runId}`, { details: { runId } });
}

/** The record stored under /runs/<job>/<name> (a run's own or a bundle's) with its version; null when gone. */
export async function readStored(client: Coordination, job: string, name: string): Promise<{ stored: StoredRecord; version: number } | null> {
  try {
    const { data, stat } = await client.get(layout.run(job, name));
    return { stored: decodeStored(data, layout.run(job, name)), version: stat.version };
  } catch (err) {
    if (isZkError(err, 'NO_NODE')) return null;
    throw err;
  }
}

/** The run, or null when no record holds it. */
export async function readRunView(client: Coordination, job: string, runId: string): Promise<RunView | null> {
  const split = splitBundledRunId(runId);
  let data: Buffer;
  let version: number;
  try {
    const got = await client.get(recordPathOf(job, runId));
    data = got.data;
    version = got.stat.version;
  } catch (err) {
    if (isZkError(err, 'NO_NODE')) return null;
    throw err;
  }
  const stored = decodeStored(data, recordPathOf(job, runId));
  if (split === null) return stored.kind === 'run' ? { record: stored.record, version } : null;
  if (stored.kind !== 'bundle') return null;
  const record = stored.bundle.runs[split.index];
  if (!record || record.id !== runId) return null;
  return { record, version, bundle: { record: stored.bundle, index: split.index } };
}
