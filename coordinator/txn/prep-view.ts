/**
 * What prep needs to know about a node, seen through the ops of a multi
 * that came before: a small overlay of touched paths over the tree, so a
 * multi can be decided without mutating anything.
 */
import type { Acl } from '../protocol/records.ts';
import type { DataTree } from '../tree/data-tree.ts';

export interface NodeInfo {
  version: number;
  /** Stored creation count: the next sequential suffix. */
  cversion: number;
  aversion: number;
  acl: Acl[];
  ephemeralOwner: bigint;
  numChildren: number;
}

export class PrepView {
  private overlay: Map<string, NodeInfo | null> | null = null;

  /** A single op needs no overlay: nothing after it reads one. */
  constructor(
    private readonly tree: DataTree,
    private readonly tracking: boolean,
  ) {}

  get(path: string): NodeInfo | undefined {
    if (this.overlay !== null) {
      const o = this.overlay.get(path);
      if (o !== undefined) return o ?? undefined;
    }
    return this.tree.get(path);
  }

  set(path: string, info: NodeInfo | null): void {
    if (!this.tracking) return;
    (this.overlay ??= new Map()).set(path, info);
  }
}

export function copyInfo(n: NodeInfo): NodeInfo {
  return {
    version: n.version,
    cversion: n.cversion,
    aversion: n.aversion,
    acl: n.acl,
    ephemeralOwner: n.ephemeralOwner,
    numChildren: n.numChildren,
  };
}
