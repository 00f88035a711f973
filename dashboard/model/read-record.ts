/**
 * Reads a znode's data the way the dashboard shows it: JSON when it parses,
 * else UTF-8 text. Pure. The records are written by other processes (maybe
 * an older or newer worker), so nothing here trusts their shape.
 */
import { decodeStored } from '../../shared/jobs/run-codec.ts';
export function readJson(data: Buffer | null | undefined): unknown {
  if (!data || data.length === 0) return undefined;
  const text = data.toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** The record as an object, or undefined when it is not one. */
export function readObject(data: Buffer | null | undefined): Record<string, unknown> | undefined {
  const v = readJson(data);
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

export function numberField(o: Record<string, unknown> | undefined, key: string): number | undefined {
  const v = o?.[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

export function stringField(o: Record<string, unknown> | undefined, key: string): string | undefined {
  const v = o?.[key];
  return typeof v === 'string' ? v : undefined;
}

/**
 * The run records a node under /runs/<job> holds: its own, or each run of a
 * bundle (docs/adr/0006-run-bundles.md) as the job codec reads it back —
 * with what the bundle stores once for all of them filled in. A bundle that
 * does not decode shows no runs.
 */
export function runRecordsOf(data: Buffer | null | undefined): Record<string, unknown>[] {
  const rec = readObject(data);
  if (!rec) return [];
  if (rec['kind'] !== 'bundle') return [rec];
  try {
    const stored = decodeStored(data as Buffer, 'bundle');
    return stored.kind === 'bundle' ? (stored.bundle.runs as unknown as Record<string, unknown>[]) : [];
  } catch {
    return [];
  }
}
