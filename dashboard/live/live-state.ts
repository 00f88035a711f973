/**
 * The dashboard's live model: the mirrored tree (watches), the ensemble
 * probe (4lw) and the metrics history, with one change feed for SSE.
 * Sections of the view are recomputed after the mirror changes (batched
 * over `batchMs`) and only sections whose JSON changed are announced.
 */
import type { Logger } from 'pino';
import type { Coordination } from '../../shared/client/coordination.ts';
import { layout } from '../../shared/jobs/layout.ts';
import { isBundleId } from '../../shared/jobs/run-id.ts';
import { startEnsembleProbe, type EnsembleProbe, type MemberSample } from '../ensemble/ensemble-probe.ts';
import { clusterView, historyRunId, inflightRuns, jobNames, queueDepth, runKeys, schedulesView, type ClusterView, type QueueView } from '../model/cluster-view.ts';
import { MetricsHistory, type MetricsSample } from '../model/metrics-history.ts';
import { TreeCache } from '../../shared/recipes/tree-cache.ts';
import type { MirrorView } from '../model/mirror-view.ts';
import { cacheView } from './cache-view.ts';

export type Section = keyof ClusterView | 'ensemble' | 'metrics';

export interface LiveEvent {
  section: Section;
  data: unknown;
}

export interface LiveStateOptions {
  client: Coordination;
  connect: string;
  logger: Logger;
  probeIntervalMs?: number;
  sampleIntervalMs?: number;
  batchMs?: number;
}

export class LiveState {
  private readonly cache: TreeCache;
  readonly mirror: MirrorView;
  private readonly probe: EnsembleProbe;
  private readonly metrics = new MetricsHistory();
  private readonly listeners = new Set<(e: LiveEvent) => void>();
  private readonly lastJson = new Map<Section, string>();
  private current: ClusterView | null = null;
  private recomputeTimer: NodeJS.Timeout | null = null;
  private readonly sampleTimer: NodeJS.Timeout;
  private readonly unsubscribe: (() => void)[] = [];

  constructor(private readonly opts: LiveStateOptions) {
    this.cache = new TreeCache(opts.client, '/', { logger: opts.logger });
    this.mirror = cacheView(this.cache);
    this.probe = startEnsembleProbe({ connect: opts.connect, logger: opts.logger.child({ part: 'ensemble-probe' }), ...(opts.probeIntervalMs ? { intervalMs: opts.probeIntervalMs } : {}) });
    const changed = () => this.scheduleRecompute();
    this.unsubscribe.push(this.cache.onAdded(changed), this.cache.onUpdated(changed), this.cache.onRemoved(changed));
    this.unsubscribe.push(this.probe.onSample((members) => this.emit('ensemble', members)));
    this.sampleTimer = setInterval(() => this.sample(), opts.sampleIntervalMs ?? 1000);
    this.sampleTimer.unref();
  }

  async start(): Promise<void> {
    await this.cache.start();
    this.recompute();
  }

  /** Nodes in the cache (for /api/health). */
  get size(): number {
    return this.cache.size;
  }

  view(): ClusterView {
    this.current ??= this.compute();
    return this.current;
  }

  private compute(): ClusterView {
    const view = clusterView(this.mirror, Date.now());
    view.queues = this.withRates(view.queues);
    return view;
  }

  private withRates(queues: QueueView[]): QueueView[] {
    const rates = this.metrics.rates();
    return queues.map((q) => ({ ...q, enqueuedPerMin: rates.get(q.job)?.enqueuedPerMin ?? 0, finishedPerMin: rates.get(q.job)?.finishedPerMin ?? 0 }));
  }

  ensemble(): MemberSample[] {
    return this.probe.latest();
  }

  probeEnsemble(): Promise<MemberSample[]> {
    return this.probe.probe();
  }

  metricsSeries(): MetricsSample[] {
    return this.metrics.series();
  }

  /** Everything, as the first SSE message and GET /api/overview. */
  snapshot(): Record<Section, unknown> {
    return { ...this.view(), ensemble: this.ensemble(), metrics: this.metricsSeries() };
  }

  subscribe(listener: (e: LiveEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    if (this.recomputeTimer) clearTimeout(this.recomputeTimer);
    clearInterval(this.sampleTimer);
    for (const u of this.unsubscribe) u();
    this.probe.stop();
    void this.cache.close();
    this.listeners.clear();
  }

  private scheduleRecompute(): void {
    if (this.recomputeTimer) return;
    this.recomputeTimer = setTimeout(() => {
      this.recomputeTimer = null;
      this.recompute();
    }, this.opts.batchMs ?? 100);
  }

  private recompute(): void {
    this.current = this.compute();
    for (const [section, data] of Object.entries(this.current) as [keyof ClusterView, unknown][]) this.emit(section, data, true);
  }

  private sample(): void {
    const tree = this.mirror;
    let depth = 0;
    let inflight = 0;
    const finished: string[] = [];
    const all: string[] = [];
    for (const job of jobNames(tree)) {
      depth += queueDepth(tree, job);
      inflight += inflightRuns(tree, job);
      // Runs, not znodes: a bundle's record counts each of its runs (its
      // history entry names the bundle, whose runs the record lists).
      for (const name of tree.get(layout.history(job))?.children ?? []) {
        const id = historyRunId(name);
        if (!isBundleId(id)) finished.push(`${job}/${id}`);
      }
      const keys = runKeys(tree, job);
      all.push(...keys.all);
      finished.push(...keys.finished);
    }
    const sample = this.metrics.record(Date.now(), { depth, inflight, finished, all });
    this.emit('metrics', sample);
    // Rates move with time too: queues are re-announced when they changed.
    if (this.current) {
      this.current.queues = this.withRates(this.current.queues);
      this.emit('queues', this.current.queues, true);
    }
    // Next fire times move with the clock, not with the tree.
    const schedules = schedulesView(tree, Date.now());
    if (this.current) this.current.schedules = schedules;
    this.emit('schedules', schedules, true);
  }

  private emit(section: Section, data: unknown, onlyIfChanged = false): void {
    if (onlyIfChanged) {
      const json = JSON.stringify(data);
      if (this.lastJson.get(section) === json) return;
      this.lastJson.set(section, json);
    }
    for (const l of this.listeners) {
      try {
        l({ section, data });
      } catch (err) {
        this.opts.logger.warn({ err }, 'live listener failed');
      }
    }
  }
}
