/**
 * Enqueue: runs go onto their job's priority lane in ONE multi per chunk —
 * the tail CAS, each run record, each queue item, and whatever the caller
 * adds (the scheduler's fire record), so a run and its reason exist
 * together or not at all.
 *
 * Contract of enqueueWith(client, job, items, extraOps):
 *   checks  /jobs/<job> exists (DROVER_UNKNOWN_JOB), every input is JSON
 *           within PAYLOAD_BYTES_MAX and passes the input schema of the
 *           spec it just read (DROVER_INVALID_PAYLOAD, naming the field);
 *           through Job.enqueue also the definition's validate and schema
 *           — all before anything is written
 *   ops     extraOps..., barrier CAS, lane appends (queue-append.ts),
 *           create runs/<job>/<runId> (RunRecord), create delayed entries
 *   fails   an extraOps op fails: rejects with that ZkError (opIndex is
 *           relative to extraOps) and nothing is written
 *           explicit runId taken: DROVER_DUPLICATE_RUN
 *   races   lost tail / barrier CAS: re-read and retry (commitWithRetry)
 * Items beyond one multi (MULTI_OPS_MAX / MULTI_BYTES_TARGET) go in further
 * chunks, each atomic on its own; extraOps go with the first chunk.
 */
import type { Coordination, Op } from '../client/coordination.ts';
import { ZkError } from '../client/zk-error.ts';
import { DroverError } from '../errors.ts';
import type { BarrierState, BundleRecord, JobSpec, RunRecord } from './job-types.ts';
import { checkAgainstSchema, specValidator, type SchemaValidator } from './input-schema.ts';
import { ensureJobDirs, publishJob, readJobSpec } from './job-dirs.ts';
import { layout, NAME_PATTERN } from './layout.ts';
import { BARRIER_SIZE_MAX, BUNDLE_INPUT_BYTES_MAX, BUNDLE_RUNS_MAX, MULTI_BYTES_TARGET, MULTI_OPS_MAX, PRIORITY_MAX } from './limits.ts';
import { encodeInput } from './payload.ts';
import { appendOps, commitWithRetry, readLaneTails, type AppendEntry } from './queue-append.ts';
import { decodeJson, encodeBundle, encodeJson, encodeRecord } from './run-codec.ts';
import { bundledRunId, isReservedRunId, newBundleId, newRunId } from './run-id.ts';
import { isZkError } from '../client/zk-error.ts';
import type { Job } from './define-job.ts';

export interface EnqueueOptions {
  /** Not claimable before now + delayMs (promoted by the scheduler or a worker of the job). */
  delayMs?: number;
  /** 0..9, lower runs first; default the job's priority. */
  priority?: number;
  /** An explicit id (a safe znode name); reusing one fails with DROVER_DUPLICATE_RUN. */
  runId?: string;
  /** Set by the scheduler: the cron fire time T this run is for. */
  fireTime?: number;
  partition?: number;
  /**
   * A barrier run group: the run waits until `size` members have arrived
   * (size defaults to the job's barrier.size), then all start together. When
   * `then` is given (by any member; the first one to arrive wins), exactly one
   * follow-up run of `then.job` is enqueued once every member has finished.
   */
  group?: { id: string; size?: number; then?: { job: string; input: unknown } };
}

export interface EnqueueItem {
  input: unknown;
  opts?: EnqueueOptions;
}

/** What an input is checked against beyond the JSON boundary. */
export interface InputChecks {
  /** The published spec's input schema. */
  schema?: SchemaValidator | undefined;
  /** Job.enqueue only: the definition's own validate (may normalize) and schema. */
  own?: OwnChecks | undefined;
}

export interface OwnChecks {
  validate?: (input: unknown) => unknown;
  schema?: SchemaValidator;
}

export interface Prepared {
  runId: string;
  record: RunRecord;
  /** About how much of a multi frame the run takes (its input plus the record around it). */
  bytes: number;
  /** Its input as UTF-8 JSON: what a bundle's BUNDLE_INPUT_BYTES_MAX counts. */
  inputBytes: number;
  group?: { id: string; size: number; then?: { job: string; input: unknown } };
  /** Plain (no runId, group, partition, fire time or delay): may go into a bundle. */
  bundleable?: boolean;
}

/** Runs of one enqueue stored as one bundle record (docs/adr/0006-run-bundles.md). */
interface PreparedBundle {
  runId: string;
  bundle: BundleRecord;
  bytes: number;
}

type Unit = Prepared | PreparedBundle;

function isBundle(u: Unit): u is PreparedBundle {
  return 'bundle' in u;
}

function badArgument(message: string): DroverError {
  return new DroverError('DROVER_INVALID_ARGUMENT', message);
}

function checkOptions(opts: EnqueueOptions, spec: JobSpec): void {
  if (opts.delayMs !== undefined && !(Number.isFinite(opts.delayMs) && opts.delayMs >= 0)) throw badArgument('delayMs must be >= 0');
  if (opts.priority !== undefined && !(Number.isInteger(opts.priority) && opts.priority >= 0 && opts.priority <= PRIORITY_MAX)) {
    throw badArgument(`priority must be an integer in 0..${PRIORITY_MAX}`);
  }
  if (opts.runId !== undefined && !NAME_PATTERN.test(opts.runId)) throw badArgument(`runId must match ${String(NAME_PATTERN)}`);
  if (opts.runId !== undefined && isReservedRunId(opts.runId)) throw badArgument(`runId '${opts.runId}' has the shape of the ids the runtime makes for bundles (b-...) and claims (c-...)`);
  if (opts.partition !== undefined && !(Number.isInteger(opts.partition) && opts.partition >= 0)) throw badArgument('partition must be an integer >= 0');
  if (opts.group === undefined && spec.barrier !== undefined) {
    throw badArgument(`job '${spec.name}' is a barrier job: enqueue its runs with group: { id } (they start together once ${spec.barrier.size} have arrived)`);
  }
  if (opts.group !== undefined) {
    const size = opts.group.size ?? spec.barrier?.size;
    if (!NAME_PATTERN.test(opts.group.id)) throw badArgument(`group.id must match ${String(NAME_PATTERN)}`);
    if (size === undefined || !(Number.isInteger(size) && size >= 1 && size <= BARRIER_SIZE_MAX)) {
      throw badArgument(`group.size must be an integer in 1..${BARRIER_SIZE_MAX} (or the job needs barrier: { size })`);
    }
    if (opts.delayMs) throw badArgument('a barrier group member cannot also be delayed');
    if (opts.group.then !== undefined) {
      if (!NAME_PATTERN.test(opts.group.then.job)) throw badArgument('group.then.job must be a job name');
      encodeInput(opts.group.then.input);
    }
  }
}

/**
 * Checks one item and builds its run record (exported for the group
 * follow-up, which gets the spec's schema by default). The input is checked
 * as JSON, as every enqueuer checks it, then by the schemas; validate comes
 * last, so it sees what the worker's validate will see: input that passed.
 */
export function prepare(job: string, spec: JobSpec, item: EnqueueItem, nowMs: number, checks: InputChecks = { schema: specValidator(spec) }): Prepared {
  const opts = item.opts ?? {};
  checkOptions(opts, spec);
  let inputText = encodeInput(item.input);
  let stored = JSON.parse(inputText) as unknown;
  const own = checks.own;
  // The same schema text shares one compiled validator: check it once.
  if (own?.schema && own.schema !== checks.schema) checkAgainstSchema(job, own.schema, stored);
  if (checks.schema) checkAgainstSchema(job, checks.schema, stored);
  if (own?.validate) {
    let input: unknown;
    try {
      input = own.validate(stored);
    } catch (err) {
      throw new DroverError('DROVER_INVALID_PAYLOAD', `job '${job}' rejected the input: ${(err as Error)?.message ?? String(err)}`, {
        cause: err,
        details: { job },
      });
    }
    inputText = encodeInput(input);
    stored = JSON.parse(inputText) as unknown;
  }
  const runId = opts.runId ?? newRunId(nowMs);
  const record: RunRecord = {
    v: 1,
    id: runId,
    job,
    state: 'queued',
    input: stored,
    attempt: 0,
    maxAttempts: spec.retries + 1,
    priority: opts.priority ?? spec.priority,
    enqueuedAt: nowMs,
  };
  if (opts.delayMs) {
    record.state = 'delayed';
    record.dueAt = nowMs + opts.delayMs;
  }
  if (opts.fireTime !== undefined) record.fireTime = opts.fireTime;
  if (opts.partition !== undefined) record.partition = opts.partition;
  const inputBytes = Buffer.byteLength(inputText, 'utf8');
  const prepared: Prepared = { runId, record, bytes: inputBytes + 400, inputBytes };
  if (opts.runId === undefined && opts.group === undefined && opts.partition === undefined && opts.fireTime === undefined && !opts.delayMs) prepared.bundleable = true;
  if (opts.group) {
    const size = (opts.group.size ?? spec.barrier?.size) as number;
    record.group = { id: opts.group.id, size };
    record.state = 'waiting-barrier';
    prepared.group = { id: opts.group.id, size, ...(opts.group.then ? { then: opts.group.then } : {}) };
  }
  return prepared;
}

async function readBarrier(client: Coordination, path: string): Promise<{ state: BarrierState; version: number } | null> {
  try {
    const { data, stat } = await client.get(path);
    return { state: decodeJson<BarrierState>(data, `barrier ${path}`), version: stat.version };
  } catch (err) {
    if (isZkError(err, 'NO_NODE')) return null;
    throw err;
  }
}

/** Builds one chunk's multi from fresh reads of the lanes and barriers it touches. */
async function buildChunk(client: Coordination, job: string, chunk: Unit[], extraOps: Op[]) {
  const retryable = new Set<number>();
  const ops: Op[] = [...extraOps];
  const ready: AppendEntry[] = [];
  const groups = new Map<string, Prepared[]>();
  for (const p of chunk) {
    if (isBundle(p)) ready.push({ runId: p.runId, priority: p.bundle.priority });
    else if (p.group) groups.set(p.group.id, [...(groups.get(p.group.id) ?? []), p]);
    else if (p.record.state === 'queued') ready.push({ runId: p.runId, priority: p.record.priority });
  }
  const released = new Set<string>();
  const barrierReads = await Promise.all([...groups.keys()].map((id) => readBarrier(client, layout.runGroup(job, id))));
  [...groups].forEach(([id, members], i) => {
    const path = layout.runGroup(job, id);
    const first = members[0]!.group!;
    const found = barrierReads[i] ?? null;
    const state: BarrierState = found?.state ?? { v: 1, size: first.size, arrived: [], released: false, left: 0 };
    if (!found) {
      const then = members.find((m) => m.group?.then)?.group?.then;
      if (then) state.then = then;
    }
    if (state.released || state.arrived.length + members.length > state.size) {
      throw new DroverError('DROVER_RUN_STATE', `barrier group '${id}' of job '${job}' already has its ${state.size} members`, { details: { job, group: id } });
    }
    state.arrived.push(...members.map((m) => ({ runId: m.runId, priority: m.record.priority })));
    if (state.arrived.length === state.size) {
      state.released = true;
      for (const m of members) released.add(m.runId);
      ready.push(...state.arrived);
    }
    retryable.add(ops.length);
    ops.push(found ? { op: 'set', path, data: encodeJson(state), version: found.version } : { op: 'create', path, data: encodeJson(state) });
  });
  const tails = await readLaneTails(client, job, ready.map((e) => e.priority));
  ops.push(...appendOps(job, tails, ready, ops.length, retryable));
  const recordStart = ops.length;
  for (const p of chunk) {
    if (isBundle(p)) {
      ops.push({ op: 'create', path: layout.run(job, p.runId), data: encodeBundle(p.bundle) });
      continue;
    }
    const record = released.has(p.runId) ? { ...p.record, state: 'queued' as const } : p.record;
    ops.push({ op: 'create', path: layout.run(job, p.runId), data: encodeRecord(record) });
    if (record.state === 'delayed') ops.push({ op: 'create', path: layout.delayedRun(job, record.dueAt!, p.runId) });
  }
  return { ops, retryable, value: recordStart };
}

/**
 * Packs consecutive plain runs of one priority into bundles of up to `size`
 * runs and BUNDLE_INPUT_BYTES_MAX input bytes; everything else stays a run of
 * its own. Order within a lane is kept.
 */
function bundle(job: string, prepared: Prepared[], size: number, nowMs: number): { units: Unit[]; ids: string[] } {
  if (size <= 1 || prepared.filter((p) => p.bundleable).length < 2) return { units: prepared, ids: prepared.map((p) => p.runId) };
  const units: Unit[] = [];
  const ids: string[] = [];
  const cur: { open: PreparedBundle | null; inputBytes: number } = { open: null, inputBytes: 0 };
  const close = (): void => {
    const open = cur.open;
    if (open === null) return;
    cur.open = null;
    // A bundle of one is just a run: it keeps a record of its own.
    if (open.bundle.runs.length === 1) {
      const lone: RunRecord = { ...open.bundle.runs[0]!, id: newRunId(nowMs) };
      units.push({ runId: lone.id, record: lone, bytes: open.bytes, inputBytes: cur.inputBytes });
      ids[ids.length - 1] = lone.id;
    } else units.push(open);
  };
  for (const p of prepared) {
    const bytes = p.inputBytes;
    if (!p.bundleable || bytes > BUNDLE_INPUT_BYTES_MAX) {
      close();
      units.push(p);
      ids.push(p.runId);
      continue;
    }
    const o = cur.open;
    if (o !== null && (o.bundle.priority !== p.record.priority || o.bundle.runs.length >= size || cur.inputBytes + bytes > BUNDLE_INPUT_BYTES_MAX)) close();
    let b = cur.open;
    if (b === null) {
      const id = newBundleId(nowMs);
      b = { runId: id, bundle: { v: 1, kind: 'bundle', id, job, state: 'queued', priority: p.record.priority, enqueuedAt: nowMs, runs: [] }, bytes: 400 };
      cur.open = b;
      cur.inputBytes = 0;
    }
    const runId = bundledRunId(b.runId, b.bundle.runs.length);
    b.bundle.runs.push({ ...p.record, id: runId });
    b.bytes += bytes + 200;
    cur.inputBytes += bytes;
    ids.push(runId);
  }
  close();
  return { units, ids };
}

function chunksOf(prepared: Unit[]): Unit[][] {
  const chunks: Unit[][] = [];
  let current: Unit[] = [];
  let bytes = 0;
  for (const p of prepared) {
    if (current.length > 0 && (bytes + p.bytes > MULTI_BYTES_TARGET || (current.length + 1) * 3 + 8 > MULTI_OPS_MAX / 2)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(p);
    bytes += p.bytes;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** Enqueues runs of `job` (see the contract above); resolves to their runIds in order. */
export function enqueueWith(client: Coordination, job: string, items: EnqueueItem[], extraOps: Op[] = []): Promise<string[]> {
  return enqueueChecked(client, job, items, extraOps, undefined);
}

async function enqueueChecked(client: Coordination, job: string, items: EnqueueItem[], extraOps: Op[], own: OwnChecks | undefined): Promise<string[]> {
  if (!NAME_PATTERN.test(job)) throw new DroverError('DROVER_UNKNOWN_JOB', `'${job}' is not a job name`);
  const spec = await readJobSpec(client, job);
  const nowMs = Date.now();
  // Checked against the spec just read: no definition needed, no extra read.
  const checks: InputChecks = { schema: specValidator(spec), own };
  const prepared = items.map((item) => prepare(job, spec, item, nowMs, checks));
  const ids = new Set(prepared.map((p) => p.runId));
  if (ids.size !== prepared.length) throw new DroverError('DROVER_DUPLICATE_RUN', 'two items of one enqueue have the same runId');
  await ensureJobDirs(client, job);
  const packed = bundle(job, prepared, Math.min(spec.bundle ?? 1, BUNDLE_RUNS_MAX), nowMs);
  const chunks = chunksOf(packed.units);
  if (chunks.length === 0 && extraOps.length > 0) chunks.push([]);
  for (const [i, chunk] of chunks.entries()) {
    const extra = i === 0 ? extraOps : [];
    let recordStart = Number.POSITIVE_INFINITY;
    try {
      await commitWithRetry(client, async () => {
        const plan = await buildChunk(client, job, chunk, extra);
        recordStart = plan.value;
        return plan;
      });
    } catch (err) {
      if (err instanceof ZkError && err.opIndex !== undefined && err.opIndex >= recordStart && err.is('NODE_EXISTS')) {
        throw new DroverError('DROVER_DUPLICATE_RUN', `a run of '${job}' with that id already exists`, { cause: err, details: { job } });
      }
      throw err;
    }
  }
  return packed.ids;
}

/** Enqueues one run by job name (or Job handle); resolves to its runId. */
export async function enqueue(client: Coordination, jobOrName: string | Job, input: unknown, opts?: EnqueueOptions): Promise<string> {
  if (typeof jobOrName !== 'string') return jobOrName.enqueue(client, input, opts);
  const [runId] = await enqueueWith(client, jobOrName, [{ input, ...(opts ? { opts } : {}) }]);
  return runId!;
}

const published = new WeakMap<Coordination, Set<string>>();

/**
 * Job.enqueue: publishes the job's spec first when the cluster has none
 * yet; checks the published schema and the definition's own checks.
 */
export async function enqueueJob(client: Coordination, job: Job, input: unknown, opts: EnqueueOptions | undefined, own: OwnChecks): Promise<string> {
  const done = published.get(client) ?? new Set<string>();
  published.set(client, done);
  const item: EnqueueItem = { input, ...(opts ? { opts } : {}) };
  if (!done.has(job.name)) {
    const exists = await client.exists(layout.job(job.name));
    if (!exists) {
      // Check before publishing so a rejected input still writes nothing.
      prepare(job.name, job.spec, item, Date.now(), { own });
      await publishJob(client, job.spec);
    }
    done.add(job.name);
  }
  const [runId] = await enqueueChecked(client, job.name, [item], [], own);
  return runId!;
}
