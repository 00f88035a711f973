/**
 * The live runs table, at a cost bounded by what it shows: the runs being
 * worked on (one data watch per leased record, so progress moves live; as
 * many as the workers' slots — for a claim group, shared/jobs/
 * claim-group.ts, one data watch on its inflight, whose run list shrinks as
 * finishes land, and one on the record of each run it lists, read once more
 * when the run leaves it), the first few waiting runs of each job (a
 * page read from the lane heads when a job's queue moved), and the runs seen
 * finishing since the dashboard started (a bounded ring). Runs too short for
 * their lease to be seen are found when a job's finished count moves: the
 * names of its history (each state directory) and dead entries are
 * compared with those known, and only the new ones read — while history
 * and dead hold at most FINISHED_LIST_MAX names each; past that the table
 * shows what it saw finish.
 * Whole states are the job page's tabs (shared/jobs/run-pages.ts), never
 * this table.
 */
import type { Logger } from 'pino';
import type { Coordination } from '../../shared/client/coordination.ts';
import { isZkError } from '../../shared/client/zk-error.ts';
import type { RunRecord } from '../../shared/jobs/job-types.ts';
import { decodeClaimGroup, type ClaimGroupInfo } from '../../shared/jobs/claim-group.ts';
import { HISTORY_STATES, layout } from '../../shared/jobs/layout.ts';
import { isClaimId } from '../../shared/jobs/run-id.ts';
import { decodeStored } from '../../shared/jobs/run-codec.ts';
import { readRunView, recordPathOf, runsOf } from '../../shared/jobs/run-lookup.ts';
import { listRunPage } from '../../shared/jobs/run-pages.ts';
import { runFromRecord, TERMINAL_STATES, type RunView } from '../model/cluster-view.ts';

/** History or dead entries a job may hold for the table to look for runs it did not see finish. */
export const FINISHED_LIST_MAX = 5000;
/** New finished runs read per job and directory per refresh (the table keeps fewer anyway). */
const FINISHED_READ_MAX = 20;

export interface LiveRunsOptions {
  /** Waiting runs shown per job (the next ones to be claimed). */
  waitingPerJob?: number;
  /** Finished runs kept in the table, newest first. */
  finishedKeep?: number;
}

interface Watched {
  job: string;
  /** The record's name under /runs/<job>: a run's id or a bundle's. */
  name: string;
  runs: RunView[];
  /** The record as last read (the workers view reads a held bundle's runs from it). */
  data: Buffer | null;
  closed: boolean;
}

/** A claim group held by a worker: its inflight watched, and the record of each run it lists. */
interface WatchedGroup {
  job: string;
  claim: string;
  /** The inflight as last read (the workers view takes the group's runs from it); null before the first read or once gone. */
  data: Buffer | null;
  info: ClaimGroupInfo | null;
  /** Each run the inflight lists: its record as last read (null until read). */
  records: Map<string, { data: Buffer; view: RunView } | null>;
  closed: boolean;
}

export class LiveRuns {
  private readonly watched = new Map<string, Watched>();
  private readonly groups = new Map<string, WatchedGroup>();
  /** `job/runId` -> the group listing it, for a record's lookup by run. */
  private readonly groupOfRun = new Map<string, WatchedGroup>();
  private readonly waiting = new Map<string, RunView[]>();
  private readonly finished = new Map<string, RunView>();
  /** Per history or dead directory: the entry names already known. */
  private readonly knownEntries = new Map<string, Set<string>>();
  private readonly listeners = new Set<() => void>();
  private readonly waitingPerJob: number;
  private readonly finishedKeep: number;
  private closed = false;

  constructor(
    private readonly client: Coordination,
    private readonly logger: Logger,
    opts: LiveRunsOptions = {},
  ) {
    this.waitingPerJob = opts.waitingPerJob ?? 10;
    this.finishedKeep = opts.finishedKeep ?? 100;
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Active runs first (newest start first), then what waits, then the finished ones seen (newest first); each run once. */
  view(): RunView[] {
    const active = [...this.watched.values()].flatMap((w) => w.runs.filter((r) => !TERMINAL_STATES.has(r.state)));
    for (const g of this.groups.values()) active.push(...this.groupActive(g));
    active.sort((a, b) => (b.startedAt ?? 0) - (a.startedAt ?? 0));
    const shown = new Set([...active, ...this.finished.values()].map((r) => `${r.job}/${r.id}`));
    const waiting = [...this.waiting.values()].flat().filter((r) => !shown.has(`${r.job}/${r.id}`));
    const done = [...this.finished.values()].filter((r) => !active.some((a) => a.job === r.job && a.id === r.id)).reverse();
    return [...active, ...waiting, ...done];
  }

  /**
   * A run an operator just changed here (cancel, retry): read it, so the
   * table shows the change at once rather than when the run next moves.
   */
  async note(job: string, runId: string): Promise<void> {
    const view = await readRunView(this.client, job, runId).catch(() => null);
    if (!view || this.closed) return;
    const row = this.toView(job, view.record);
    const key = `${job}/${runId}`;
    if (TERMINAL_STATES.has(row.state)) this.remember(row);
    else {
      this.finished.delete(key);
      const list = (this.waiting.get(job) ?? []).filter((r) => r.id !== runId);
      if (row.state === 'queued' && list.length < this.waitingPerJob) list.push(row);
      this.waiting.set(job, list);
    }
    this.changed();
  }

  /** The last read data of a leased record (/runs/<job>/<name>), if watched, or of a run of a held claim group. */
  dataOf(job: string, name: string): Buffer | undefined {
    const key = `${job}/${name}`;
    return this.watched.get(key)?.data ?? this.groupOfRun.get(key)?.records.get(name)?.data ?? undefined;
  }

  /** A held claim group's inflight as last read (/inflight/<job>/<claimId>). */
  groupData(job: string, claim: string): Buffer | undefined {
    return this.groups.get(`${job}/${claim}`)?.data ?? undefined;
  }

  /** How many runs of a held claim group are active (its inflight's runs not seen to end, or not read yet); undefined before its first read. */
  groupSize(job: string, claim: string): number | undefined {
    const g = this.groups.get(`${job}/${claim}`);
    if (!g?.info) return undefined;
    let n = 0;
    for (const rec of g.records.values()) if (rec === null || this.activeInGroup(g, rec.view)) n++;
    return n;
  }

  /**
   * The leases now held (from the structure mirror): watch the records they
   * name (a claim group's inflight), let go of the others.
   */
  syncLeases(leases: readonly { job: string; name: string }[]): void {
    const wanted = new Set(leases.map((l) => `${l.job}/${l.name}`));
    for (const [key, w] of this.watched) {
      if (wanted.has(key)) continue;
      w.closed = true;
      this.watched.delete(key);
      void this.read(w, true); // its end state: the runs that finished
    }
    for (const [key, g] of this.groups) {
      if (wanted.has(key)) continue;
      g.closed = true;
      this.groups.delete(key);
      void this.settleGroup(g, [...g.records.keys()]); // its runs' end states
    }
    for (const l of leases) {
      const key = `${l.job}/${l.name}`;
      if (this.watched.has(key) || this.groups.has(key)) continue;
      if (isClaimId(l.name)) {
        const g: WatchedGroup = { job: l.job, claim: l.name, data: null, info: null, records: new Map(), closed: false };
        this.groups.set(key, g);
        void this.readGroup(g);
        continue;
      }
      const w: Watched = { job: l.job, name: l.name, runs: [], data: null, closed: false };
      this.watched.set(key, w);
      void this.read(w, false);
    }
  }

  /** Reads the next waiting runs of each named job (their lanes moved). */
  async refreshWaiting(jobs: readonly string[], known: readonly string[]): Promise<void> {
    for (const job of this.waiting.keys()) if (!known.includes(job)) this.waiting.delete(job);
    await Promise.all(
      jobs.map(async (job) => {
        try {
          const page = await listRunPage(this.client, job, { state: 'waiting', limit: this.waitingPerJob });
          this.waiting.set(job, page.runs.map((r) => this.toView(job, r)));
        } catch (err) {
          this.logger.warn({ err, job }, 'could not read the waiting runs');
        }
      }),
    );
    this.changed();
  }

  /**
   * Jobs whose finished runs grew: read the entries that are new since the
   * last look (the first look only learns the names, and reads the newest
   * few of history). `history` (all its state directories) and `dead` are
   * child counts. A bundle found in two state directories still gives one
   * row per run: rows are kept by run.
   */
  async refreshFinished(jobs: readonly { job: string; history: number; dead: number }[]): Promise<void> {
    await Promise.all(
      jobs.flatMap(({ job, history, dead }) => [
        ...(history <= FINISHED_LIST_MAX ? HISTORY_STATES.map((s) => this.newEntries(job, layout.historyDir(job, s), (n) => n.slice(16), true)) : []),
        dead <= FINISHED_LIST_MAX ? this.newEntries(job, layout.dead(job), (n) => n, false) : Promise.resolve(),
      ]),
    );
    this.changed();
  }

  /** `byTime`: the names sort by end time (history's do, dead's do not). */
  private async newEntries(job: string, dir: string, idOf: (name: string) => string, byTime: boolean): Promise<void> {
    let names: string[];
    try {
      names = (await this.client.children(dir)).sort();
    } catch (err) {
      if (!isZkError(err, 'NO_NODE')) this.logger.warn({ err, dir }, 'could not list finished runs');
      return;
    }
    const known = this.knownEntries.get(dir);
    this.knownEntries.set(dir, new Set(names));
    // First look: the newest few of history (names sort by end time); dead names do not sort by time.
    const fresh = known ? names.filter((n) => !known.has(n)) : byTime ? names : [];
    const ids = fresh.slice(-FINISHED_READ_MAX).map(idOf);
    const views = await Promise.all(ids.map((id) => readRunView(this.client, job, id).catch(() => null)));
    const rows = views.flatMap((v) => (v === null ? [] : v.bundle ? v.bundle.record.runs : [v.record])).map((r) => this.toView(job, r));
    rows.sort((a, b) => (a.finishedAt ?? 0) - (b.finishedAt ?? 0));
    for (const r of rows) if (TERMINAL_STATES.has(r.state)) this.remember(r);
  }

  close(): void {
    this.closed = true;
    for (const w of this.watched.values()) w.closed = true;
    for (const g of this.groups.values()) g.closed = true;
    this.watched.clear();
    this.groups.clear();
    this.groupOfRun.clear();
    this.listeners.clear();
  }

  private toView(job: string, r: RunRecord): RunView {
    return runFromRecord(job, r.id, recordPathOf(job, r.id), r as unknown as Record<string, unknown>);
  }

  /** Reads a watched record (and watches it again while it is leased); `last` is the read after its lease went. */
  private async read(w: Watched, last: boolean): Promise<void> {
    if (this.closed) return;
    const path = layout.run(w.job, w.name);
    let runs: RunRecord[];
    let data: Buffer;
    try {
      ({ data } = await this.client.get(path, last ? undefined : () => void (w.closed ? undefined : this.read(w, false))));
      runs = runsOf(decodeStored(data, path));
    } catch (err) {
      if (!isZkError(err, 'NO_NODE')) this.logger.warn({ err, path }, 'could not read a run');
      return;
    }
    if (this.closed || (!last && w.closed)) return;
    w.data = data;
    w.runs = runs.map((r) => runFromRecord(w.job, r.id, path, r as unknown as Record<string, unknown>));
    for (const r of w.runs) if (TERMINAL_STATES.has(r.state)) this.remember(r);
    this.changed();
  }

  /** A group's runs shown as active: listed by its inflight, read, and active by its claim as far as the table knows. */
  private groupActive(g: WatchedGroup): RunView[] {
    const out: RunView[] = [];
    for (const rec of g.records.values()) if (rec && this.activeInGroup(g, rec.view)) out.push(rec.view);
    return out;
  }

  /** Active by the group's claim when read, and not seen to end since (history and dead entries are read as they show). */
  private activeInGroup(g: WatchedGroup, r: RunView): boolean {
    if (TERMINAL_STATES.has(r.state) || r.worker !== g.info?.worker || r.startedAt !== g.info?.at) return false;
    const ended = this.finished.get(`${r.job}/${r.id}`);
    return !ended || (ended.finishedAt ?? 0) < (r.startedAt ?? 0);
  }

  /**
   * Reads a held group's inflight (and watches it again while held): runs
   * new to it are read once, runs that left it (their finish landed) once
   * more, for their end state.
   */
  private async readGroup(g: WatchedGroup): Promise<void> {
    if (this.closed || g.closed) return;
    const path = layout.inflightRun(g.job, g.claim);
    let data: Buffer;
    try {
      ({ data } = await this.client.get(path, () => void this.readGroup(g)));
    } catch (err) {
      // Gone: the group closed (its lease goes in the same multi, and syncLeases settles it).
      if (!isZkError(err, 'NO_NODE')) this.logger.warn({ err, path }, 'could not read a claim group');
      return;
    }
    if (this.closed || g.closed) return;
    const info = decodeClaimGroup(data);
    g.data = data;
    g.info = info;
    const listed = new Set(info?.runs ?? []);
    const left = [...g.records.keys()].filter((id) => !listed.has(id));
    const fresh = [...listed].filter((id) => !g.records.has(id));
    for (const id of fresh) {
      g.records.set(id, null);
      this.groupOfRun.set(`${g.job}/${id}`, g);
    }
    await Promise.all([this.readGroupRuns(g, fresh), this.settleGroup(g, left)]);
    this.changed();
  }

  /** Reads these runs of a group and watches their records while the group lists them (progress moves live). */
  private async readGroupRuns(g: WatchedGroup, ids: readonly string[]): Promise<void> {
    await Promise.all(ids.map((id) => this.readGroupRun(g, id)));
  }

  private async readGroupRun(g: WatchedGroup, id: string): Promise<void> {
    const listed = (): boolean => !this.closed && !g.closed && g.records.has(id);
    const read = await this.readOnce(g.job, id, () => {
      if (listed()) void this.readGroupRun(g, id).then(() => this.changed());
    });
    if (read === null || !listed()) return;
    g.records.set(id, read);
    if (TERMINAL_STATES.has(read.view.state)) this.remember(read.view);
  }

  /** Runs that left a group (or the group went): their end state, read once unless already seen to end; then let go. */
  private async settleGroup(g: WatchedGroup, ids: readonly string[]): Promise<void> {
    const pending = ids.filter((id) => {
      const known = g.records.get(id);
      g.records.delete(id);
      if (this.groupOfRun.get(`${g.job}/${id}`) === g) this.groupOfRun.delete(`${g.job}/${id}`);
      return !known || !TERMINAL_STATES.has(known.view.state);
    });
    const ended = await Promise.all(pending.map((id) => this.readOnce(g.job, id)));
    if (this.closed) return;
    for (const read of ended) if (read && TERMINAL_STATES.has(read.view.state)) this.remember(read.view);
    if (g.closed) this.changed();
  }

  /** A single run's record (with a data watch when `watcher` is given); null when gone or unreadable. */
  private async readOnce(job: string, runId: string, watcher?: () => void): Promise<{ data: Buffer; view: RunView } | null> {
    const path = layout.run(job, runId);
    try {
      const { data } = await this.client.get(path, watcher);
      const run = runsOf(decodeStored(data, path))[0];
      return run ? { data, view: runFromRecord(job, run.id, path, run as unknown as Record<string, unknown>) } : null;
    } catch (err) {
      if (!isZkError(err, 'NO_NODE')) this.logger.warn({ err, path }, 'could not read a run');
      return null;
    }
  }

  private remember(run: RunView): void {
    const key = `${run.job}/${run.id}`;
    this.finished.delete(key);
    this.finished.set(key, run);
    while (this.finished.size > this.finishedKeep) {
      const oldest = this.finished.keys().next().value;
      if (oldest === undefined) break;
      this.finished.delete(oldest);
    }
  }

  private changed(): void {
    for (const l of this.listeners) l();
  }
}
