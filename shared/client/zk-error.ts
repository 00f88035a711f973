/**
 * ZooKeeper's error codes as the framework sees them. Every failure that
 * came from the server (or the client library's connection handling) is a
 * ZkError with ZooKeeper's numeric code, so callers compare codes, never
 * message strings.
 */
export const ZkCode = {
  OK: 0,
  SYSTEM_ERROR: -1,
  RUNTIME_INCONSISTENCY: -2,
  DATA_INCONSISTENCY: -3,
  CONNECTION_LOSS: -4,
  MARSHALLING_ERROR: -5,
  UNIMPLEMENTED: -6,
  OPERATION_TIMEOUT: -7,
  BAD_ARGUMENTS: -8,
  API_ERROR: -100,
  NO_NODE: -101,
  NO_AUTH: -102,
  BAD_VERSION: -103,
  NO_CHILDREN_FOR_EPHEMERALS: -108,
  NODE_EXISTS: -110,
  NOT_EMPTY: -111,
  SESSION_EXPIRED: -112,
  INVALID_CALLBACK: -113,
  INVALID_ACL: -114,
  AUTH_FAILED: -115,
  SESSION_MOVED: -118,
  NOT_READ_ONLY: -119,
} as const;

export type ZkCodeName = keyof typeof ZkCode;

const NAMES = new Map<number, ZkCodeName>(Object.entries(ZkCode).map(([k, v]) => [v, k as ZkCodeName]));

export class ZkError extends Error {
  override readonly name = 'ZkError';
  /** ZooKeeper's numeric code, e.g. -101 for NO_NODE. */
  readonly code: number;
  readonly codeName: ZkCodeName | 'UNKNOWN';
  readonly path: string | undefined;
  /** For a failed multi: the index of the op that failed. */
  readonly opIndex: number | undefined;

  constructor(code: number, opts: { path?: string; opIndex?: number; cause?: unknown } = {}) {
    const codeName = NAMES.get(code) ?? 'UNKNOWN';
    super(`${codeName} (${code})${opts.path ? ` at ${opts.path}` : ''}${opts.opIndex !== undefined ? ` in op ${opts.opIndex}` : ''}`, { cause: opts.cause });
    this.code = code;
    this.codeName = codeName;
    this.path = opts.path;
    this.opIndex = opts.opIndex;
  }

  is(name: ZkCodeName): boolean {
    return this.code === ZkCode[name];
  }
}

/** True when `err` is a ZkError with code `name`. */
export function isZkError(err: unknown, name: ZkCodeName): err is ZkError {
  return err instanceof ZkError && err.code === ZkCode[name];
}
