/**
 * Reads a znode's data the way the dashboard shows it: JSON when it parses,
 * else UTF-8 text. Pure. The records are written by other processes (maybe
 * an older or newer worker), so nothing here trusts their shape.
 */
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
 * bundle (docs/adr/0006-run-bundles.md) with the fields the bundle stores
 * once for all of them (v, job, priority, enqueuedAt) filled back in.
 * Entries that are not objects are skipped.
 */
export function runRecordsOf(data: Buffer | null | undefined): Record<string, unknown>[] {
  const rec = readObject(data);
  if (!rec) return [];
  if (rec['kind'] !== 'bundle') return [rec];
  if (!Array.isArray(rec['runs'])) return [];
  const shared: Record<string, unknown> = { v: rec['v'], job: rec['job'], priority: rec['priority'], enqueuedAt: rec['enqueuedAt'] };
  const out: Record<string, unknown>[] = [];
  for (const r of rec['runs'] as unknown[]) if (typeof r === 'object' && r !== null && !Array.isArray(r)) out.push({ ...shared, ...(r as Record<string, unknown>) });
  return out;
}
