/**
 * The bytes of the job znodes: run records and other JSON records, and
 * the decimal counters of the queue lanes. Decoding checks the shape it
 * relies on and calls anything else corrupt, rather than acting on it.
 */
import { DroverError } from '../errors.ts';
import type { BundleRecord, RunRecord } from './job-types.ts';

export function encodeJson(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

export function decodeJson<T>(data: Buffer, what: string): T {
  try {
    return JSON.parse(data.toString('utf8')) as T;
  } catch (err) {
    throw new DroverError('DROVER_CORRUPT_STATE', `${what} is not JSON`, { cause: err });
  }
}

export function encodeRecord(record: RunRecord): Buffer {
  return encodeJson(record);
}

function checkRun(rec: RunRecord | null, path: string): RunRecord {
  if (rec === null || typeof rec !== 'object' || rec.v !== 1 || typeof rec.id !== 'string' || typeof rec.state !== 'string') {
    throw new DroverError('DROVER_CORRUPT_STATE', `run record ${path} is not a v1 RunRecord`);
  }
  return rec;
}

/** A record of one run. A bundle here is refused: a caller that expects one run must not act on many. */
export function decodeRecord(data: Buffer, path: string): RunRecord {
  const stored = decodeStored(data, path);
  if (stored.kind === 'bundle') throw new DroverError('DROVER_CORRUPT_STATE', `run record ${path} is a bundle, not one run`);
  return stored.record;
}

export type StoredRecord = { kind: 'run'; record: RunRecord } | { kind: 'bundle'; bundle: BundleRecord };

/**
 * Either kind of record under /runs/<job>. A bundle's runs are stored
 * without what they share with it (encodeBundle): v, job, priority,
 * enqueuedAt, their id when it is `<bundleId>.<index>`, and maxAttempts when
 * the bundle holds it for all of them (`runMaxAttempts`).
 */
export function decodeStored(data: Buffer, path: string): StoredRecord {
  const rec = decodeJson<(RunRecord & { kind?: undefined }) | StoredBundle>(data, `run record ${path}`);
  if (rec !== null && typeof rec === 'object' && rec.kind === 'bundle') {
    if (rec.v !== 1 || typeof rec.id !== 'string' || typeof rec.state !== 'string' || !Array.isArray(rec.runs)) {
      throw new DroverError('DROVER_CORRUPT_STATE', `bundle record ${path} is not a v1 BundleRecord`);
    }
    const { runMaxAttempts, ...bundle } = rec;
    const runs = rec.runs.map((r, k) => {
      const run = r as RunRecord;
      // Filled in place: the objects are fresh from JSON.parse, and a copy per run is what this saves.
      run.v = 1;
      run.job = rec.job;
      run.priority = rec.priority;
      run.enqueuedAt = rec.enqueuedAt;
      run.id ??= `${rec.id}.${k}`;
      if (runMaxAttempts !== undefined) run.maxAttempts ??= runMaxAttempts;
      return checkRun(run, path);
    });
    return { kind: 'bundle', bundle: { ...bundle, runs } };
  }
  return { kind: 'run', record: checkRun(rec as RunRecord, path) };
}

/** A bundle as stored (see decodeStored). */
type StoredBundle = Omit<BundleRecord, 'runs'> & { runs: Partial<RunRecord>[]; runMaxAttempts?: number };

/** A bundle's JSON, each run without what it shares with the bundle (see decodeStored). */
export function encodeBundle(bundle: BundleRecord): Buffer {
  const runs = bundle.runs as Partial<RunRecord>[];
  const first = runs[0]?.maxAttempts;
  const shared = first !== undefined && runs.every((r) => r.maxAttempts === first) ? first : undefined;
  const stored: StoredBundle = { ...bundle, runs };
  if (shared !== undefined) stored.runMaxAttempts = shared;
  // The shared fields are blanked on the runs themselves for the one synchronous stringify and put
  // back after (JSON leaves undefined out): a blanked copy of every run was a third of a bundled
  // run's claim and settle on the worker. Nothing else runs while JSON.stringify does.
  const saved = new Array<unknown>(runs.length * 6);
  for (let k = 0; k < runs.length; k++) {
    const r = runs[k] as Partial<RunRecord>;
    const at = k * 6;
    saved[at] = r.v;
    saved[at + 1] = r.job;
    saved[at + 2] = r.priority;
    saved[at + 3] = r.enqueuedAt;
    saved[at + 4] = r.id;
    saved[at + 5] = r.maxAttempts;
    r.v = undefined;
    r.job = undefined;
    r.priority = undefined;
    r.enqueuedAt = undefined;
    if (r.id === `${bundle.id}.${k}`) r.id = undefined;
    if (shared !== undefined) r.maxAttempts = undefined;
  }
  try {
    return encodeJson(stored);
  } finally {
    for (let k = 0; k < runs.length; k++) {
      const r = runs[k] as Record<string, unknown>;
      const at = k * 6;
      r['v'] = saved[at];
      r['job'] = saved[at + 1];
      r['priority'] = saved[at + 2];
      r['enqueuedAt'] = saved[at + 3];
      r['id'] = saved[at + 4];
      r['maxAttempts'] = saved[at + 5];
    }
  }
}

export function encodeCounter(n: number): Buffer {
  return Buffer.from(String(n), 'ascii');
}

export function decodeCounter(data: Buffer, path: string): number {
  const text = data.toString('ascii');
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n)) {
    throw new DroverError('DROVER_CORRUPT_STATE', `queue counter ${path} holds '${text.slice(0, 40)}', not a decimal index`);
  }
  return n;
}
