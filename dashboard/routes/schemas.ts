/** JSON schemas shared by the routes (fastify validates with ajv; a miss answers 400). */
import { NAME_PATTERN } from '../../shared/jobs/layout.ts';

export const jobName = { type: 'string', pattern: NAME_PATTERN.source, maxLength: 128 } as const;
/** Run ids are znode names: no '/', nothing outside the safe set. */
export const runId = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$' } as const;
/** An absolute znode path without empty, '.' or '..' segments (ZooKeeper refuses them too). */
export const znodePath = { type: 'string', maxLength: 4096, pattern: '^/$|^(/(?!\\.\\.?(/|$))[^/\\u0000]+)+$' } as const;

/** A page cursor as run-pages.ts makes them (base64url). */
export const cursor = { type: 'string', pattern: '^[A-Za-z0-9_-]{1,2048}$' } as const;

export const jobParams = { type: 'object', required: ['job'], additionalProperties: false, properties: { job: jobName } } as const;
export const runParams = { type: 'object', required: ['job', 'runId'], additionalProperties: false, properties: { job: jobName, runId } } as const;
