/**
 * The dashboard's Prometheus metrics: a prom-client registry of its own
 * (never the global one: one process may run several dashboards, as the
 * tests do). Gauges are computed at scrape time from what the dashboard
 * already holds (metric-sources.ts); the run duration histogram is fed as
 * the live model announces runs, each finish observed once.
 */
import { Gauge, Histogram, Registry } from 'prom-client';
import type { LiveState } from '../live/live-state.ts';
import { FinishTracker } from './finish-tracker.ts';
import { ensembleMembers, finishedRuns, jobRunCounts, workerCounts, type FinishedRun, type JobRunCounts, type WorkerCounts } from './metric-sources.ts';

export interface DashboardMetrics {
  registry: Registry;
  /** The exposition text (Prometheus text format 0.0.4). */
  render(): Promise<string>;
  close(): void;
}

/** drover_job_runs' states. History's by final state; no `finished` series: it is their sum, and would count finished runs twice in a sum over `state`. */
const RUN_STATES = ['queued', 'delayed', 'inflight', 'succeeded', 'failed', 'cancelled', 'dead'] as const;
const MEMBER_MODES = ['leader', 'follower', 'observer', 'standalone', 'read-only'];
/** Jobs run from milliseconds to hours. */
const DURATION_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 1800, 3600];

export function createDashboardMetrics(live: LiveState): DashboardMetrics {
  const registry = new Registry();
  const registers = [registry];

  new Gauge({
    name: 'drover_job_runs',
    help: 'Runs of a job by state: queued, delayed (retry or delay pending), inflight (claimed, not finished), succeeded, failed and cancelled (kept in history, each bounded by its pruning), dead (dead-lettered)',
    labelNames: ['job', 'state'],
    registers,
    collect() {
      this.reset();
      for (const c of jobRunCounts(live)) for (const state of RUN_STATES) this.set({ job: c.job, state }, c[state]);
    },
  });
  const perJob = (name: string, help: string, pick: (c: JobRunCounts) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['job'],
      registers,
      collect() {
        this.reset();
        for (const c of jobRunCounts(live)) this.set({ job: c.job }, pick(c));
      },
    });
  perJob('drover_job_runs_leased', 'Inflight runs whose worker holds a live lease', (c) => c.leased);
  perJob('drover_job_paused', '1 when the job is paused', (c) => (c.paused ? 1 : 0));
  perJob('drover_job_enqueued_per_minute', 'Runs enqueued per minute over the last minute, as the dashboard saw them', (c) => c.enqueuedPerMin);
  perJob('drover_job_finished_per_minute', 'Runs finished per minute over the last minute, as the dashboard saw them', (c) => c.finishedPerMin);

  const workers = (name: string, help: string, pick: (w: WorkerCounts) => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(pick(workerCounts(live)));
      },
    });
  workers('drover_workers', 'Registered workers', (w) => w.workers);
  workers('drover_workers_draining', 'Workers draining (shutting down)', (w) => w.draining);
  workers('drover_worker_capacity', 'Run slots over all workers', (w) => w.capacity);
  workers('drover_worker_running', 'Runs the workers hold now', (w) => w.running);

  const ensemble = (name: string, help: string, labelNames: string[], fill: (g: Gauge<string>) => void) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers,
      collect() {
        this.reset();
        fill(this);
      },
    });
  const memberOf = (m: { host: string; port: number }) => (m.host.includes(':') ? `[${m.host}]:${m.port}` : `${m.host}:${m.port}`);
  ensemble('drover_ensemble_members', 'Members in the connect string', [], (g) => g.set(ensembleMembers(live).length));
  ensemble('drover_ensemble_members_up', 'Members answering srvr as serving', [], (g) => g.set(ensembleMembers(live).filter((m) => m.up).length));
  ensemble('drover_ensemble_leader_present', '1 when a serving member is the leader (or standalone)', [], (g) =>
    g.set(ensembleMembers(live).some((m) => m.up && (m.stats?.mode === 'leader' || m.stats?.mode === 'standalone')) ? 1 : 0),
  );
  ensemble('drover_ensemble_member_up', '1 when the member answers srvr as serving', ['member'], (g) => {
    for (const m of ensembleMembers(live)) g.set({ member: memberOf(m) }, m.up ? 1 : 0);
  });
  ensemble('drover_ensemble_member_mode', "The member's mode (1 for the current one; all 0 when down)", ['member', 'mode'], (g) => {
    for (const m of ensembleMembers(live)) {
      const mode = m.up ? (m.stats?.mode ?? 'unknown') : '';
      for (const each of new Set([...MEMBER_MODES, ...(mode ? [mode] : [])])) g.set({ member: memberOf(m), mode: each }, each === mode ? 1 : 0);
    }
  });
  ensemble('drover_ensemble_member_probe_seconds', "The srvr round trip of the dashboard's last probe", ['member'], (g) => {
    for (const m of ensembleMembers(live)) if (m.up && m.probeMs !== undefined) g.set({ member: memberOf(m) }, m.probeMs / 1000);
  });
  ensemble('drover_ensemble_synced_followers', "Followers in sync with the leader, from its mntr (0 without a leader)", [], (g) => {
    const leader = ensembleMembers(live).find((m) => m.up && m.stats?.mode === 'leader');
    if (leader?.stats?.syncedFollowers !== undefined) g.set(leader.stats.syncedFollowers);
  });

  const durations = new Histogram({
    name: 'drover_run_duration_seconds',
    help: 'Run time (finishedAt - startedAt of the last attempt) of the runs the dashboard saw finish since it started',
    labelNames: ['job', 'state'],
    buckets: DURATION_BUCKETS,
    registers,
  });
  const finishes = new FinishTracker<FinishedRun>();
  const observe = () => {
    for (const r of finishes.fresh(finishedRuns(live))) durations.observe({ job: r.job, state: r.state }, r.seconds);
  };
  observe();
  const unsubscribe = live.subscribe((e) => {
    if (e.section === 'runs') observe();
  });

  return {
    registry,
    async render() {
      observe();
      return registry.metrics();
    },
    close() {
      unsubscribe();
      registry.clear();
    },
  };
}
