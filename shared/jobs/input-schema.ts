/**
 * A job's input schema: JSON Schema (draft-07, checked with ajv), published
 * in the job's spec so every enqueuer checks input against it, whether or
 * not it has the job's definition. Compiled validators are memoized by the
 * schema's JSON text, so enqueue by name, which reads the spec anyway,
 * compiles once per distinct schema, not per call. The memo is only a
 * cache: another copy of this module compiles again and answers the same.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { DroverError } from '../errors.ts';
import type { JobSpec, JsonSchema } from './job-types.ts';
import { INPUT_SCHEMA_BYTES_MAX } from './limits.ts';

export type SchemaValidator = ValidateFunction;

// strictSchema: a typo'd keyword or an unknown format fails at defineJob, not silently at enqueue.
// No coercion or defaults: the check never changes the input it is given.
const ajv = new Ajv({ allErrors: false, strictSchema: true, strictTypes: false, strictTuples: false, addUsedSchema: false, logger: false });

/** Distinct schemas a process keeps compiled (oldest dropped first). */
const COMPILED_MAX = 256;
const compiled = new Map<string, { schema: JsonSchema; validator: SchemaValidator }>();

function isSchemaObject(value: unknown): value is JsonSchema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The validator of the schema whose JSON text is `text`; throws ajv's error when it does not compile. */
function validatorFor(text: string): SchemaValidator {
  const hit = compiled.get(text);
  if (hit) return hit.validator;
  // A private copy: ajv keeps the object, and the caller's may change later.
  const schema = JSON.parse(text) as JsonSchema;
  if (schema['$async'] === true) throw new Error('$async schemas are not supported');
  let validator: SchemaValidator;
  try {
    validator = ajv.compile(schema);
  } catch (err) {
    ajv.removeSchema(schema);
    throw err;
  }
  if (compiled.size >= COMPILED_MAX) {
    const [oldestText, oldest] = compiled.entries().next().value as [string, { schema: JsonSchema }];
    compiled.delete(oldestText);
    ajv.removeSchema(oldest.schema);
  }
  compiled.set(text, { schema, validator });
  return validator;
}

function invalidJob(job: string, why: string, cause?: unknown): DroverError {
  return new DroverError('DROVER_INVALID_JOB', `job '${job}': ${why}`, { ...(cause !== undefined ? { cause } : {}), details: { job } });
}

/**
 * defineJob's check of `input`: a JSON object within INPUT_SCHEMA_BYTES_MAX
 * that compiles. Returns its validator; DROVER_INVALID_JOB otherwise.
 */
export function compileInputSchema(job: string, schema: unknown): SchemaValidator {
  if (!isSchemaObject(schema)) throw invalidJob(job, 'input must be a JSON Schema object, e.g. { type: "object", properties: { ... } }');
  let text: string;
  try {
    text = JSON.stringify(schema);
  } catch (err) {
    throw invalidJob(job, `the input schema is not JSON (${(err as Error).message})`, err);
  }
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > INPUT_SCHEMA_BYTES_MAX) {
    throw invalidJob(job, `the input schema is ${bytes} bytes as JSON; the limit is ${INPUT_SCHEMA_BYTES_MAX} (it is published in the job's spec)`);
  }
  try {
    return validatorFor(text);
  } catch (err) {
    const why = (err as Error).message;
    const hint = why.startsWith('unknown format') ? ' (no formats are built in: use pattern)' : '';
    throw invalidJob(job, `the input schema does not compile: ${why}${hint}`, err);
  }
}

/** The validator of a published spec's schema (none when it has none); a schema that does not compile is DROVER_INVALID_JOB. */
export function specValidator(spec: JobSpec): SchemaValidator | undefined {
  if (spec.input === undefined) return undefined;
  if (!isSchemaObject(spec.input)) throw invalidJob(spec.name, 'the published input schema is not an object');
  try {
    return validatorFor(JSON.stringify(spec.input));
  } catch (err) {
    throw invalidJob(spec.name, `the published input schema does not compile: ${(err as Error).message}`, err);
  }
}

/** A JSON Pointer segment (RFC 6901). */
function pointerSegment(name: string): string {
  return `/${name.replaceAll('~', '~0').replaceAll('/', '~1')}`;
}

/** Where the error is, pointing at the missing or extra property itself when there is one. */
function pathOf(e: ErrorObject): string {
  const prop = e.params['missingProperty'] ?? e.params['additionalProperty'] ?? e.params['unevaluatedProperty'];
  return typeof prop === 'string' ? e.instancePath + pointerSegment(prop) : e.instancePath;
}

export interface SchemaMiss {
  /** The first error, naming the field: `input/url must be string`. */
  message: string;
  /** JSON Pointer to the offending field ('' for the input itself). */
  path: string;
  errors: { path: string; keyword: string; message: string; params: unknown }[];
}

/** Why `input` fails the schema, or null when it passes. */
export function schemaMiss(validator: SchemaValidator, input: unknown): SchemaMiss | null {
  if (validator(input)) return null;
  const found = validator.errors ?? [];
  const errors = found.map((e) => ({ path: pathOf(e), keyword: e.keyword, message: e.message ?? 'is invalid', params: e.params as unknown }));
  const first = found[0];
  const extra = first?.params['additionalProperty'];
  const message = first ? `input${first.instancePath} ${first.message ?? 'is invalid'}${typeof extra === 'string' ? ` ('${extra}')` : ''}` : 'input does not match the schema';
  return { message, path: errors[0]?.path ?? '', errors };
}

/** Throws DROVER_INVALID_PAYLOAD with the offending field's path unless `input` passes. */
export function checkAgainstSchema(job: string, validator: SchemaValidator, input: unknown): void {
  const miss = schemaMiss(validator, input);
  if (miss === null) return;
  throw new DroverError('DROVER_INVALID_PAYLOAD', `job '${job}' rejected the input: ${miss.message}`, {
    details: { job, path: miss.path, errors: miss.errors },
  });
}
