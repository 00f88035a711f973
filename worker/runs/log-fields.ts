/**
 * The structured fields of a ctx.log line (`ctx.log.info({ url }, 'msg')`)
 * as a run record keeps them: JSON-safe (bigints as text, errors as
 * { type, message, code }, cycles cut) and at most a bound as JSON text.
 * Keys are kept in order while they fit; a value too long for the room
 * left is kept as cut text, and keys that do not fit at all go.
 */

const CUT_VALUE_CHARS_MIN = 16;

/** A JSON.stringify replacer that never throws on what loggers are given. */
function safeReplacer(): (this: unknown, key: string, value: unknown) => unknown {
  const ancestors: unknown[] = [];
  return function (this: unknown, _key: string, value: unknown): unknown {
    if (typeof value === 'bigint') return value.toString();
    if (typeof value !== 'object' || value === null) return value;
    while (ancestors.length > 0 && ancestors[ancestors.length - 1] !== this) ancestors.pop();
    if (ancestors.includes(value)) return '[Circular]';
    let out: object = value;
    if (value instanceof Error) {
      const code = (value as { code?: unknown }).code;
      out = { type: value.name, message: value.message, ...(typeof code === 'string' || typeof code === 'number' ? { code } : {}) };
    }
    ancestors.push(out);
    return out;
  };
}

function jsonLength(value: unknown): number {
  return JSON.stringify(value).length;
}

/** `fields` as JSON-safe fields within `maxChars` of JSON, or undefined when nothing is left. */
export function boundFields(fields: object, maxChars: number): Record<string, unknown> | undefined {
  let json: string | undefined;
  try {
    json = JSON.stringify(fields instanceof Error ? { err: fields } : fields, safeReplacer());
  } catch {
    return undefined; // a toJSON that throws: the line keeps its message
  }
  if (json === undefined) return undefined;
  const parsed = JSON.parse(json) as unknown;
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const all = parsed as Record<string, unknown>;
  if (json.length <= maxChars) return json === '{}' ? undefined : all;
  const out: Record<string, unknown> = {};
  let used = 2;
  for (const [key, value] of Object.entries(all)) {
    const head = jsonLength(key) + 1 + (used > 2 ? 1 : 0);
    const size = head + jsonLength(value);
    if (used + size <= maxChars) {
      out[key] = value;
      used += size;
      continue;
    }
    const room = maxChars - used - head - 3; // the quotes and the ellipsis
    if (room < CUT_VALUE_CHARS_MIN) continue;
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    // Escapes make JSON longer than the text: shorten until it fits.
    for (let n = room; n >= CUT_VALUE_CHARS_MIN; n = Math.floor(n * 0.75)) {
      const cut = `${text.slice(0, n)}…`;
      if (head + jsonLength(cut) <= maxChars - used) {
        out[key] = cut;
        used += head + jsonLength(cut);
        break;
      }
    }
  }
  return Object.keys(out).length > 0 ? out : undefined;
}
