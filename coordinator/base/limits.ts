/** Every bound of the core in one place. */
export const limits = {
  /** jute.maxbuffer default: the largest frame the server reads (0xfffff). */
  frameBytesMax: 0xfffff,
  /** Requests a connection may have in flight before the server stops reading its socket. */
  outstandingPerConnectionMax: 1000,
  /** Bytes queued for one connection's socket before the server stops reading from it. */
  outboundBytesHighWater: 4 * 1024 * 1024,
  /** Largest batch written with one fsync (ZooKeeper's maxBatchSize). */
  commitBatchMax: 1000,
  /** Log segments are extended in steps of this many bytes. */
  logPreallocBytes: 64 * 1024 * 1024,
  /** TTL upper bound in ms (2^40 - 1). */
  ttlMsMax: 2 ** 40 - 1,
  /** Sequential suffix width. */
  sequenceDigits: 10,
} as const;
