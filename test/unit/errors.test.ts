/** As fastify checks its FST_ERR_* codes: every DROVER_* code is documented, and nothing documented is stale. */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DroverCode, DroverError, toError } from '../../shared/errors.ts';

const doc = readFileSync(path.resolve(import.meta.dirname, '../../docs/errors.md'), 'utf8');

describe('DROVER_* codes', () => {
  it('each code is documented in docs/errors.md and each documented code exists', () => {
    const documented = [...doc.matchAll(/^- `(DROVER_[A-Z_]+)`/gm)].map((m) => m[1]);
    expect([...documented].sort()).toEqual(Object.keys(DroverCode).sort());
  });
  it('errors carry their code, a default message and a cause', () => {
    const cause = new Error('x');
    const e = new DroverError('DROVER_UNKNOWN_JOB', undefined, { cause });
    expect(e.code).toBe('DROVER_UNKNOWN_JOB');
    expect(e.message).toBe(DroverCode.DROVER_UNKNOWN_JOB);
    expect(e.cause).toBe(cause);
    expect(toError('boom')).toBeInstanceOf(DroverError);
    expect(toError(cause)).toBe(cause);
  });
});
