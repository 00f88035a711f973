/** A znode as the tree stores it. cversion is the stored creation count (see `statOf`). */
import type { Acl } from '../protocol/records.ts';
import { CONTAINER_OWNER, TTL_OWNER_MASK } from '../txn/txn.ts';

export class Znode {
  readonly children = new Set<string>();
  constructor(
    public data: Buffer | null,
    public acl: Acl[],
    readonly czxid: number,
    public mzxid: number,
    readonly ctime: number,
    public mtime: number,
    public version: number,
    public cversion: number,
    public aversion: number,
    readonly ephemeralOwner: bigint,
    public pzxid: number,
  ) {}

  get numChildren(): number {
    return this.children.size;
  }
}

export type NodeKind = 'persistent' | 'ephemeral' | 'container' | 'ttl';

export function kindOf(owner: bigint): NodeKind {
  if (owner === 0n) return 'persistent';
  if (owner === CONTAINER_OWNER) return 'container';
  if ((owner & TTL_OWNER_MASK) === TTL_OWNER_MASK) return 'ttl';
  return 'ephemeral';
}

export function ttlOf(owner: bigint): number {
  return Number(owner & ~TTL_OWNER_MASK);
}
