/**
 * Waits for the job tests: a run's record reaching a condition, awaited
 * through data watches on its znode (no polling), with a deadline.
 */
import type { Coordination } from '../../shared/client/coordination.ts';
import { isZkError } from '../../shared/client/zk-error.ts';
import type { RunRecord } from '../../shared/jobs/job-types.ts';
import { decodeStored } from '../../shared/jobs/run-codec.ts';
import { recordPathOf } from '../../shared/jobs/run-lookup.ts';

export async function waitForRun(
  client: Coordination,
  job: string,
  runId: string,
  done: (r: RunRecord) => boolean,
  opts: { timeoutMs?: number; what?: string } = {},
): Promise<RunRecord> {
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  let last: RunRecord | null = null;
  for (;;) {
    let fired!: () => void;
    const changed = new Promise<void>((resolve) => (fired = resolve));
    const watcher = () => fired();
    try {
      // A bundled run (b-....k) lives in its bundle's record.
      const { data } = await client.get(recordPathOf(job, runId), watcher);
      const stored = decodeStored(data, runId);
      last = (stored.kind === 'bundle' ? stored.bundle.runs.find((r) => r.id === runId) : stored.record) ?? null;
      if (last && done(last)) return last;
    } catch (err) {
      if (!isZkError(err, 'NO_NODE')) throw err;
      await client.exists(recordPathOf(job, runId), watcher);
    }
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`timed out waiting for ${opts.what ?? `run ${runId}`}; last record: ${JSON.stringify(last)}`);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([changed, new Promise((resolve) => (timer = setTimeout(resolve, left)))]);
    clearTimeout(timer);
  }
}

export const finished = (r: RunRecord): boolean => ['succeeded', 'failed', 'dead', 'cancelled'].includes(r.state);

/** Every path under `root` with its data, for "nothing was written" checks. */
export async function snapshotTree(client: Coordination, root = '/'): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const stack = [root];
  while (stack.length > 0) {
    const path = stack.pop()!;
    try {
      const { data, stat } = await client.get(path);
      out.set(path, `${stat.version}:${data.toString('base64')}`);
      const kids = await client.children(path);
      for (const k of kids) stack.push(path === '/' ? `/${k}` : `${path}/${k}`);
    } catch (err) {
      if (!isZkError(err, 'NO_NODE')) throw err;
    }
  }
  return out;
}

/** Until `path` has no children (or is gone), awaited through child watches, with a deadline. */
export async function childrenGone(client: Coordination, path: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let fired!: () => void;
    const changed = new Promise<void>((resolve) => (fired = resolve));
    let left: string[];
    try {
      left = await client.children(path, () => fired());
    } catch (err) {
      if (isZkError(err, 'NO_NODE')) return;
      throw err;
    }
    if (left.length === 0) return;
    const wait = deadline - Date.now();
    if (wait <= 0) throw new Error(`timed out waiting for ${path} to empty; left: ${left.join(', ')}`);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([changed, new Promise((resolve) => (timer = setTimeout(resolve, wait)))]);
    clearTimeout(timer);
  }
}
