/**
 * The payload boundary: job inputs and results are JSON, bounded in size
 * (limits.ts), checked before anything is written, so bad input never
 * leaves a half-made run behind.
 */
import { DroverError } from '../errors.ts';
import { PAYLOAD_BYTES_MAX, RESULT_BYTES_MAX } from './limits.ts';

/**
 * True JSON only: plain objects, arrays, finite numbers, strings, booleans,
 * null. Rejects what JSON.stringify would silently change (undefined members,
 * functions, NaN, Dates' toJSON, Maps that turn into {}, cycles).
 */
function firstNonJson(value: unknown, where: string, seen: Set<object>): string | null {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return null;
  if (typeof value === 'number') return Number.isFinite(value) ? null : `${where} is ${String(value)}`;
  if (typeof value !== 'object') return `${where} is a ${typeof value}`;
  if (seen.has(value)) return `${where} is a cycle`;
  seen.add(value);
  try {
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const bad = firstNonJson(value[i], `${where}[${i}]`, seen);
        if (bad) return bad;
      }
      return null;
    }
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return `${where} is a ${value.constructor?.name ?? 'non-plain object'}`;
    for (const [key, member] of Object.entries(value)) {
      const bad = firstNonJson(member, `${where}.${key}`, seen);
      if (bad) return bad;
    }
    return null;
  } finally {
    seen.delete(value);
  }
}

function encode(value: unknown, what: 'input' | 'result', limit: number): string {
  if (value === undefined) return 'null';
  const bad = firstNonJson(value, what, new Set());
  if (bad) throw new DroverError('DROVER_INVALID_PAYLOAD', `the ${what} must be JSON: ${bad}`, { details: { what } });
  const text = JSON.stringify(value);
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > limit) {
    throw new DroverError(
      'DROVER_PAYLOAD_TOO_LARGE',
      `the ${what} is ${bytes} bytes as JSON; the limit is ${limit} (store large data elsewhere and pass a reference)`,
      { details: { what, bytes, limit } },
    );
  }
  return text;
}

/** Checks a job input; returns its JSON text. undefined is taken as null. */
export function encodeInput(input: unknown): string {
  return encode(input, 'input', PAYLOAD_BYTES_MAX);
}

/** Checks a handler result; returns its JSON text. undefined is taken as null. */
export function encodeResult(result: unknown): string {
  return encode(result, 'result', RESULT_BYTES_MAX);
}

/** Checks a job input and returns it as stored (a JSON round trip). */
export function checkInput(input: unknown): unknown {
  return JSON.parse(encodeInput(input)) as unknown;
}

/** Checks a handler result and returns it as stored, with its size as UTF-8 JSON. */
export function checkResult(result: unknown): { value: unknown; bytes: number } {
  const text = encodeResult(result);
  return { value: JSON.parse(text) as unknown, bytes: Buffer.byteLength(text, 'utf8') };
}
