/**
 * The bytes of the job znodes: run records and other JSON records, and
 * the decimal counters of the queue lanes. Decoding checks the shape it
 * relies on and calls anything else corrupt, rather than acting on it.
 */
import { DroverError } from '../errors.ts';
import type { RunRecord } from './job-types.ts';

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

export function decodeRecord(data: Buffer, path: string): RunRecord {
  const rec = decodeJson<RunRecord>(data, `run record ${path}`);
  if (rec === null || typeof rec !== 'object' || rec.v !== 1 || typeof rec.id !== 'string' || typeof rec.state !== 'string') {
    throw new DroverError('DROVER_CORRUPT_STATE', `run record ${path} is not a v1 RunRecord`);
  }
  return rec;
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
