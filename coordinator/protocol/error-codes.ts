/** ZooKeeper's KeeperException.Code values, exactly as they travel on the wire. */
export const ErrorCode = {
  OK: 0,
  SYSTEM_ERROR: -1,
  RUNTIME_INCONSISTENCY: -2,
  DATA_INCONSISTENCY: -3,
  CONNECTION_LOSS: -4,
  MARSHALLING_ERROR: -5,
  UNIMPLEMENTED: -6,
  OPERATION_TIMEOUT: -7,
  BAD_ARGUMENTS: -8,
  UNKNOWN_SESSION: -12,
  NEW_CONFIG_NO_QUORUM: -13,
  RECONFIG_IN_PROGRESS: -14,
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
  EPHEMERAL_ON_LOCAL_SESSION: -120,
  NO_WATCHER: -121,
  REQUEST_TIMEOUT: -122,
  RECONFIG_DISABLED: -123,
  SESSION_CLOSED_REQUIRE_SASL_AUTH: -124,
  QUOTA_EXCEEDED: -125,
  THROTTLED: -127,
} as const;

export type ErrorCodeName = keyof typeof ErrorCode;
export type ErrorCodeValue = (typeof ErrorCode)[ErrorCodeName];

const nameByCode = new Map<number, ErrorCodeName>(
  (Object.entries(ErrorCode) as [ErrorCodeName, ErrorCodeValue][]).map(([name, code]) => [code, name]),
);

export function errorCodeName(code: number): string {
  return nameByCode.get(code) ?? `UNKNOWN(${code})`;
}

/** A request failed with a ZooKeeper error code; the server turns it into a reply header. */
export class ZkError extends Error {
  override readonly name = 'ZkError';
  constructor(
    readonly code: ErrorCodeValue,
    message?: string,
  ) {
    super(message ?? errorCodeName(code));
  }
}

/** Bytes that cannot be decoded as the record they claim to be. The server closes the connection. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
}
