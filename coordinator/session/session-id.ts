/** Session ids and passwords. */
import { createHmac } from 'node:crypto';

/**
 * ZooKeeper's layout: top byte the server id, then 40 bits of a millisecond
 * clock, low 16 bits a counter that starts at 0 (the caller increments).
 */
export function firstSessionId(serverId: number, clockMs: number): bigint {
  const clock = BigInt.asUintN(40, BigInt(Math.floor(clockMs)));
  return BigInt.asUintN(64, (BigInt(serverId & 0xff) << 56n) | (clock << 16n));
}

/** Any member can recompute it; clients treat it as opaque. */
export function sessionPassword(secret: Buffer, sessionId: bigint): Buffer {
  const id = Buffer.alloc(8);
  id.writeBigUInt64BE(BigInt.asUintN(64, sessionId));
  return createHmac('sha256', secret).update(id).digest().subarray(0, 16);
}
