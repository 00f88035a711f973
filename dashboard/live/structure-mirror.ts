/**
 * The dashboard's copy of the cluster's structure, never of its runs: one
 * TreeCache per structural subtree (jobs and their specs, workers, the
 * scheduler, schedules and their bounded fire records, partitions, barrier
 * groups, and the leases, at most one per active run and one per claim
 * group or bundle, bounded by the workers' capacity). Queues, records, history, dead and delayed runs
 * stay on the server: counts come from O(1) reads, lists by page
 * (shared/jobs/run-pages.ts). So the watches held grow with the structure,
 * never with the backlog or the history.
 */
import type { Logger } from 'pino';
import type { Coordination } from '../../shared/client/coordination.ts';
import { layout } from '../../shared/jobs/layout.ts';
import { TreeCache } from '../../shared/recipes/tree-cache.ts';
import type { MirrorNode, MirrorView } from '../model/mirror-view.ts';

export const STRUCTURE_ROOTS = [layout.jobs, layout.workers, layout.scheduler, layout.schedules, layout.partitionsRoot, layout.barriers, layout.leasesRoot] as const;

export class StructureMirror implements MirrorView {
  private readonly caches = new Map<string, TreeCache>();

  constructor(client: Coordination, logger: Logger) {
    for (const root of STRUCTURE_ROOTS) this.caches.set(root, new TreeCache(client, root, { logger }));
  }

  async start(): Promise<void> {
    await Promise.all([...this.caches.values()].map((c) => c.start()));
  }

  /** Calls `listener` after any change in any subtree. */
  onChange(listener: () => void): () => void {
    const offs = [...this.caches.values()].flatMap((c) => [c.onAdded(listener), c.onUpdated(listener), c.onRemoved(listener)]);
    return () => offs.forEach((off) => off());
  }

  /** Nodes held (for /api/health): the structure, not the runs. */
  get size(): number {
    let n = 0;
    for (const c of this.caches.values()) n += c.size;
    return n;
  }

  get(path: string): MirrorNode | undefined {
    const cache = this.cacheOf(path);
    const node = cache?.get(path);
    if (!cache || !node) return undefined;
    return { data: node.data, stat: node.stat, children: cache.children(path) ?? [] };
  }

  private cacheOf(path: string): TreeCache | undefined {
    for (const [root, cache] of this.caches) if (path === root || path.startsWith(`${root}/`)) return cache;
    return undefined;
  }

  async close(): Promise<void> {
    await Promise.all([...this.caches.values()].map((c) => c.close()));
  }
}
