/**
 * The one place where errors become HTTP answers. Every error body is
 * `{ error: { code, message, details? } }` with a DROVER_* code (or a
 * ZooKeeper code name for errors from the coordination service).
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { isZkError, ZkError } from '../shared/client/zk-error.ts';
import { DroverError, type DroverCodeName } from '../shared/errors.ts';

/** Codes not listed answer 500. */
const DROVER_STATUS: Partial<Record<DroverCodeName, number>> = {
  DROVER_INVALID_PAYLOAD: 400,
  DROVER_INVALID_ARGUMENT: 400,
  DROVER_INVALID_SCHEDULE: 400,
  DROVER_INVALID_JOB: 400,
  DROVER_PAYLOAD_TOO_LARGE: 413,
  DROVER_UNAUTHORIZED: 401,
  DROVER_UNKNOWN_JOB: 404,
  DROVER_RUN_NOT_FOUND: 404,
  DROVER_RUN_STATE: 409,
  DROVER_DUPLICATE_RUN: 409,
  DROVER_JOB_IN_USE: 409,
  DROVER_NOT_CONNECTED: 503,
  DROVER_SESSION_LOST: 503,
  DROVER_CLOSED: 503,
  DROVER_WAIT_TIMEOUT: 504,
};

const ZK_STATUS: Partial<Record<string, number>> = {
  NO_NODE: 404,
  NODE_EXISTS: 409,
  BAD_VERSION: 409,
  NOT_EMPTY: 409,
  NO_CHILDREN_FOR_EPHEMERALS: 409,
  NO_AUTH: 403,
  AUTH_FAILED: 403,
  BAD_ARGUMENTS: 400,
  INVALID_ACL: 400,
  CONNECTION_LOSS: 503,
  OPERATION_TIMEOUT: 503,
  SESSION_EXPIRED: 503,
};

export interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

export function toHttpError(err: unknown): { status: number; body: ErrorBody } {
  if (err instanceof DroverError) {
    const body: ErrorBody = { error: { code: err.code, message: err.message } };
    if (err.details) body.error.details = err.details;
    return { status: DROVER_STATUS[err.code] ?? 500, body };
  }
  if (err instanceof ZkError) {
    return { status: ZK_STATUS[err.codeName] ?? 500, body: { error: { code: err.codeName, message: err.message } } };
  }
  const fe = err as Partial<FastifyError> | undefined;
  if (fe?.validation) {
    // Schema validation: ajv's message names the field ("body/input must be object").
    return { status: 400, body: { error: { code: 'DROVER_INVALID_ARGUMENT', message: `invalid request: ${fe.message ?? 'validation failed'}` } } };
  }
  if (typeof fe?.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    // fastify's own 4xx (bad JSON, unsupported media type, body too large).
    return { status: fe.statusCode, body: { error: { code: fe.code ?? 'DROVER_INVALID_ARGUMENT', message: fe.message ?? 'bad request' } } };
  }
  return { status: 500, body: { error: { code: 'INTERNAL', message: err instanceof Error ? err.message : String(err) } } };
}

export function installErrorHandler(app: FastifyInstance, logger: Logger): void {
  app.setErrorHandler((err, request, reply) => {
    const { status, body } = toHttpError(err);
    if (status >= 500 && !isZkError(err, 'CONNECTION_LOSS')) logger.error({ err, url: request.url }, 'request failed');
    void reply.status(status).send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send({ error: { code: 'NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0] ?? ''}` } } satisfies ErrorBody);
  });
}
