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

/** Either kind of record under /runs/<job>. */
export function decodeStored(data: Buffer, path: string): StoredRecord {
  const rec = decodeJson<(RunRecord & { kind?: undefined }) | (Omit<BundleRecord, 'runs'> & { runs: Partial<RunRecord>[] })>(data, `run record ${path}`);
  if (rec !== null && typeof rec === 'object' && rec.kind === 'bundle') {
    if (rec.v !== 1 || typeof rec.id !== 'string' || typeof rec.state !== 'string' || !Array.isArray(rec.runs)) {
      throw new DroverError('DROVER_CORRUPT_STATE', `bundle record ${path} is not a v1 BundleRecord`);
    }
    // Entries are stored without the fields they share with their bundle (encodeBundle).
    const runs = rec.runs.map((r) => checkRun({ v: 1, job: rec.job, priority: rec.priority, enqueuedAt: rec.enqueuedAt, ...r } as RunRecord, path));
    return { kind: 'bundle', bundle: { ...rec, runs } };
  }
  return { kind: 'run', record: checkRun(rec as RunRecord, path) };
}

/** A bundle's JSON, each run without the fields it shares with the bundle (v, job, priority, enqueuedAt). */
export function encodeBundle(bundle: BundleRecord): Buffer {
  const runs = bundle.runs.map((r) => {
    const { v: _v, job: _job, priority: _priority, enqueuedAt: _enqueuedAt, ...rest } = r;
    return rest;
  });
  return encodeJson({ ...bundle, runs });
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
