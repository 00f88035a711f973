/** A znode as the tree stores it. cversion is the stored creation count (see `statOf`). */
import type { Acl } from '../protocol/records.ts';
import { CONTAINER_OWNER, TTL_OWNER_MASK } from '../txn/txn.ts';

const NO_CHILDREN: ReadonlyMap<string, Znode> = new Map();

export class Znode {
  /**
   * Children by name. Most nodes are leaves: the map is made on the first
   * child, not up front. The nodes themselves, not only names: a snapshot
   * walks every node, and a lookup of each child's full path in the tree's
   * map was a quarter of a snapshot's cost.
   */
  private kids: Map<string, Znode> | null = null;
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

  get children(): ReadonlyMap<string, Znode> {
    return this.kids ?? NO_CHILDREN;
  }

  get numChildren(): number {
    return this.kids === null ? 0 : this.kids.size;
  }

  addChild(name: string, node: Znode): void {
    (this.kids ??= new Map()).set(name, node);
  }

  removeChild(name: string): void {
    if (this.kids === null) return;
    this.kids.delete(name);
    if (this.kids.size === 0) this.kids = null;
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
