/** What the view model reads: a copy of the tree (the TreeCache, or a plain map in tests). */
import type { Stat } from '../../shared/client/coordination.ts';

export interface MirrorNode {
  data: Buffer | null;
  stat: Stat | null;
  /** Child names, sorted. */
  children: string[];
}

export interface MirrorView {
  get(path: string): MirrorNode | undefined;
}

export function childPath(parent: string, name: string): string {
  return parent === '/' ? `/${name}` : `${parent}/${name}`;
}
