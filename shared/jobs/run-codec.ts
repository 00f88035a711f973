/**
 * The bytes of the job znodes: run records and other JSON records, and
 * the decimal counters of the queue lanes. Decoding checks the shape it
 * relies on and calls anything else corrupt, rather than acting on it.
 */
import { changed } from './record-copy.ts';
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
  const first = bundle.runs[0]?.maxAttempts;
  const shared = first !== undefined && bundle.runs.every((r) => r.maxAttempts === first) ? first : undefined;
  // Copied and blanked, not rest: object rest is a slow runtime path, and JSON leaves undefined out.
  const runs = bundle.runs.map(
    (r, k): Partial<RunRecord> =>
      changed(r as Partial<RunRecord>, {
        v: undefined,
        job: undefined,
        priority: undefined,
        enqueuedAt: undefined,
        id: r.id === `${bundle.id}.${k}` ? undefined : r.id,
        maxAttempts: shared === undefined ? r.maxAttempts : undefined,
      }),
  );
  const stored: StoredBundle = { ...bundle, runs };
  if (shared !== undefined) stored.runMaxAttempts = shared;
  return encodeJson(stored);
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
