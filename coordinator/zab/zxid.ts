/** zxid = epoch << 32 | counter, kept in a number (exact while epoch < 2^21). */
const TWO_32 = 4294967296;

export function makeZxid(epoch: number, counter: number): number {
  return epoch * TWO_32 + counter;
}

export function epochOf(zxid: number): number {
  return Math.floor(zxid / TWO_32);
}

export function counterOf(zxid: number): number {
  return zxid % TWO_32;
}

/** The counter must not wrap inside an epoch (ZOOKEEPER-1277): the leader steps down first. */
export const COUNTER_MAX = TWO_32 - 1;

export function hexZxid(zxid: number): string {
  return '0x' + zxid.toString(16);
}
