/**
 * What a handler throws when another attempt cannot help (a 404, a refused
 * card): the run is dead-lettered at once, as if it had used its last
 * attempt, and its error keeps this error's code, name and message.
 *
 * Recognized by a brand, not instanceof: a job file may import its own
 * copy of 'drover', and a handler thread has its own module instances.
 */
const NON_RETRYABLE_BRAND = Symbol.for('drover.nonRetryable');

export class NonRetryableError extends Error {
  /** `err instanceof NonRetryableError` holds for one made by any copy of the package (and for subclasses). */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this !== NonRetryableError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return isNonRetryable(value);
  }

  declare readonly [NON_RETRYABLE_BRAND]: true;
  /** The run's error code: the one given, else DROVER_NON_RETRYABLE. */
  readonly code: string;

  constructor(message: string, opts: { code?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = opts.code ?? 'DROVER_NON_RETRYABLE';
  }
}
Object.defineProperty(NonRetryableError.prototype, NON_RETRYABLE_BRAND, { value: true });

/** True for a NonRetryableError from any copy of the package. */
export function isNonRetryable(value: unknown): boolean {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[NON_RETRYABLE_BRAND] === true;
}
