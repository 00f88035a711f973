/**
 * The dashboard's live model, at a cost that follows what it shows, never
 * the backlog or the history:
 *
 *   structure  workers, jobs' specs, the scheduler, schedules, partitions,
 *              barrier groups and leases, mirrored with watches
 *              (structure-mirror.ts); views recomputed after changes,
 *              batched over `batchMs`
 *   queues     per-job counts and rates from O(1) reads each sample tick
 *              (queue-sampler.ts), with the charts' sample
 *   runs       the live table: leased runs watched (a claim group's
 *              inflight, not its runs), the next waiting few per job, the
 *              finished ones seen (live-runs.ts)
 *   ensemble   every member's srvr/mntr, probed (as ZooKeeper tools do)
 *
 * Only sections whose JSON changed are announced to subscribers (SSE).
 */
import type { Logger } from 'pino';
import type { Coordination } from '../../shared/client/coordination.ts';
import { claimGroupNamed } from '../../shared/jobs/claim-group.ts';
import { layout } from '../../shared/jobs/layout.ts';
import { isClaimId } from '../../shared/jobs/run-id.ts';
import { startEnsembleProbe, type EnsembleProbe, type MemberSample } from '../ensemble/ensemble-probe.ts';
import { schedulesView, structureView, workersView, type ClusterView, type QueueView, type StructureView } from '../model/cluster-view.ts';
import type { MirrorNode, MirrorView } from '../model/mirror-view.ts';
import { MetricsHistory, type MetricsSample } from '../model/metrics-history.ts';
import { readObject } from '../model/read-record.ts';
import { LiveRuns } from './live-runs.ts';
import { QueueSampler, type JobMarks } from './queue-sampler.ts';
import { StructureMirror } from './structure-mirror.ts';

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
  private readonly mirror: StructureMirror;
  private readonly probe: EnsembleProbe;
  private readonly metrics = new MetricsHistory();
  private readonly sampler: QueueSampler;
  private readonly runs: LiveRuns;
  private readonly listeners = new Set<(e: LiveEvent) => void>();
  private readonly lastJson = new Map<Section, string>();
  private structure: StructureView | null = null;
  private queues: QueueView[] = [];
  private recomputeTimer: NodeJS.Timeout | null = null;
  private runsTimer: NodeJS.Timeout | null = null;
  private sampleTimer: NodeJS.Timeout | null = null;
  /** Per job, where its counters stood at the last sample: waiting and finished runs are read again when they move. */
  private marks = new Map<string, JobMarks>();
  private readonly unsubscribe: (() => void)[] = [];
  private closed = false;

  constructor(private readonly opts: LiveStateOptions) {
    this.mirror = new StructureMirror(opts.client, opts.logger);
    this.probe = startEnsembleProbe({ connect: opts.connect, logger: opts.logger.child({ part: 'ensemble-probe' }), ...(opts.probeIntervalMs ? { intervalMs: opts.probeIntervalMs } : {}) });
    this.runs = new LiveRuns(opts.client, opts.logger);
    this.sampler = new QueueSampler(
      opts.client,
      {
        spec: (job) => readObject(this.mirror.get(layout.job(job))?.data),
        leases: (job) => this.leasedRuns(job),
      },
      this.metrics,
    );
    this.unsubscribe.push(this.mirror.onChange(() => this.scheduleRecompute()));
    this.unsubscribe.push(this.runs.onChange(() => this.scheduleRuns()));
    this.unsubscribe.push(this.probe.onSample((members) => this.emit('ensemble', members)));
  }

  async start(): Promise<void> {
    await this.mirror.start();
    this.recompute();
    await this.sample();
    const every = this.opts.sampleIntervalMs ?? 1000;
    const tick = (): void => {
      this.sampleTimer = setTimeout(() => {
        void this.sample().finally(() => {
          if (!this.closed) tick();
        });
      }, every);
      this.sampleTimer.unref();
    };
    tick();
  }

  /** Structural nodes held in the mirror (for /api/health). */
  get size(): number {
    return this.mirror.size;
  }

  view(): ClusterView {
    this.structure ??= structureView(this.withRecords, Date.now());
    return { ...this.structure, queues: this.queues, runs: this.runs.view() };
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

  /** An operator changed this run through the dashboard: show its new state at once. */
  noteRun(job: string, runId: string): Promise<void> {
    return this.runs.note(job, runId);
  }

  subscribe(listener: (e: LiveEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.closed = true;
    for (const t of [this.recomputeTimer, this.runsTimer, this.sampleTimer]) if (t) clearTimeout(t);
    for (const u of this.unsubscribe) u();
    this.probe.stop();
    this.runs.close();
    void this.mirror.close();
    this.listeners.clear();
  }

  private scheduleRecompute(): void {
    if (this.recomputeTimer || this.closed) return;
    this.recomputeTimer = setTimeout(() => {
      this.recomputeTimer = null;
      this.recompute();
    }, this.opts.batchMs ?? 100);
  }

  private scheduleRuns(): void {
    if (this.runsTimer || this.closed) return;
    this.runsTimer = setTimeout(() => {
      this.runsTimer = null;
      this.emit('runs', this.runs.view(), true);
      // A held bundle's runs count in its worker's load.
      if (this.structure) {
        this.structure.workers = workersView(this.withRecords);
        this.emit('workers', this.structure.workers, true);
      }
    }, this.opts.batchMs ?? 100);
  }

  /**
   * The structure, plus the records of leased runs the live table reads (a
   * worker's held bundle shows as its active runs) and the inflight of each
   * held claim group (a group's runs not landed yet).
   */
  private readonly withRecords: MirrorView = {
    get: (path: string): MirrorNode | undefined => {
      const m = /^\/(runs|inflight)\/([^/]+)\/([^/]+)$/.exec(path);
      if (!m) return this.mirror.get(path);
      const data = m[1] === 'runs' ? this.runs.dataOf(m[2] as string, m[3] as string) : this.runs.groupData(m[2] as string, m[3] as string);
      return data ? { data, stat: null, children: [] } : undefined;
    },
  };

  /**
   * The runs a job's live leases hold: one per run's or bundle's lease (as
   * the job page counts records), a claim group's runs each — as the live
   * table last saw its inflight, or as its lease lists them before that.
   */
  private leasedRuns(job: string): number {
    let n = 0;
    for (const name of this.mirror.get(layout.leases(job))?.children ?? []) {
      if (!isClaimId(name)) n++;
      else n += this.runs.groupSize(job, name) ?? claimGroupNamed(name, this.mirror.get(layout.lease(job, name))?.data)?.runs.length ?? 0;
    }
    return n;
  }

  private recompute(): void {
    this.structure = structureView(this.withRecords, Date.now());
    for (const [section, data] of Object.entries(this.structure) as [keyof StructureView, unknown][]) this.emit(section, data, true);
    this.runs.syncLeases(this.leases());
  }

  /** Every lease the mirror holds: the records being worked on (a bundle's lease names the bundle, a claim group's the claim: live-runs.ts expands it). */
  private leases(): { job: string; name: string }[] {
    const root = this.mirror.get(layout.leasesRoot)?.children ?? [];
    return root.flatMap((job) => (this.mirror.get(layout.leases(job))?.children ?? []).map((name) => ({ job, name })));
  }

  private async sample(): Promise<void> {
    if (this.closed) return;
    try {
      const { queues, sample, marks } = await this.sampler.sample(Date.now());
      if (this.closed) return;
      this.queues = queues;
      this.emit('metrics', sample);
      this.emit('queues', queues, true);
      // The next waiting runs are read again only for jobs whose lanes moved.
      const before = this.marks;
      this.marks = marks;
      const moved = queues.filter((q) => before.get(q.job)?.lanes !== marks.get(q.job)?.lanes).map((q) => q.job);
      if (moved.length > 0) await this.runs.refreshWaiting(moved, queues.map((q) => q.job));
      // Runs that finished faster than their lease could be seen: looked up by their new entries.
      const finishing = queues.filter((q) => before.get(q.job)?.finished !== marks.get(q.job)?.finished);
      if (finishing.length > 0) await this.runs.refreshFinished(finishing.map((q) => ({ job: q.job, history: q.history, dead: q.dead })));
    } catch (err) {
      this.opts.logger.warn({ err }, 'could not sample the queues');
    }
    // Next fire times move with the clock, not with the tree.
    const schedules = schedulesView(this.mirror, Date.now());
    if (this.structure) this.structure.schedules = schedules;
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
