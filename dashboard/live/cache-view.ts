/**
 * The dashboard reads the cluster through one TreeCache of the namespace
 * (shared/recipes/tree-cache.ts: re-armed watches, reloaded after a new
 * session). This adapts it to the MirrorView the pure view model reads.
 */
import type { TreeCache } from '../../shared/recipes/tree-cache.ts';
import type { MirrorNode, MirrorView } from '../model/mirror-view.ts';

export function cacheView(cache: TreeCache): MirrorView {
  return {
    get(path: string): MirrorNode | undefined {
      const node = cache.get(path);
      if (!node) return undefined;
      return { data: node.data, stat: node.stat, children: cache.children(path) ?? [] };
    },
  };
}
