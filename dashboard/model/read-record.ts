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
