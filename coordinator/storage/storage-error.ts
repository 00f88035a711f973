/** Storage failures that must stop a member rather than lose acknowledged data. */
export type StorageErrorCode = 'CORRUPT_LOG' | 'DATA_DIR_LOCKED' | 'BAD_SNAPSHOT' | 'LOG_ORDER';

export class StorageError extends Error {
  override readonly name = 'StorageError';
  constructor(
    readonly code: StorageErrorCode,
    message: string,
  ) {
    super(message);
  }
}
