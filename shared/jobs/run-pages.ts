/**
 * Runs a page at a time, by state, with a cursor: what the dashboard, the
 * admin API and `drover runs list` read instead of mirroring the tree.
 * Each state is read from the structure that already orders it, so a page
 * costs what it shows:
 *
 *   waiting     the priority lanes, by index from each lane's head (lane
 *               items are read by their index; no listing)
 *   active      /inflight/<job>, by name; a claim group (claim-group.ts)
 *               lists its runs still active by that claim, by run id
 *   delayed     /delayed/<job>, by name (= due time)
 *   dead        /dead/<job>, by name (dead-lettered runs, not in history)
 *   succeeded   /history/<job>/<state>, newest first: that state's
 *   failed      directory alone (a bundle there lists its runs in that
 *   cancelled   state; its others are under their own states)
 *   finished    every run that ended, in two sections: the dead runs
 *               first (/dead/<job> by name, i.e. by run id: dead entries
 *               are named by run id, not by time, and ordering them by end
 *               time would read every dead record per page), then history
 *               (the three state directories merged newest first; a
 *               bundle's entries share a name: listed once, its runs in
 *               any of the three states; at most 3 x history.keep names)
 *   all         every run, unfinished first: active, waiting, delayed,
 *               then the two sections of finished (dead, then history
 *               newest first) — what `GET /api/runs` without a state lists
 *
 * Across jobs (listRunPageAcrossJobs) a state is listed job by job (in name
 * order); finished and all go section by section (each section job by job),
 * and their history section is merged across jobs, newest first.
 *
 * A cursor names the last place read (lane and index, or a znode name, and
 * the run within a bundle), never an offset: runs that move on between two
 * pages are neither repeated nor skipped within a state (or a section of
 * finished and all: a run that moves to another section between two pages
 * may show twice or not at all, as in any listing by state), and a run that
 * arrives behind the cursor shows on a later page. Bundled runs
 * (docs/adr/0006-run-bundles.md) are listed one by one, in bundle order.
 * A claim group cut by the limit is resumed after the last run id listed,
 * not at an index: its inflight's run list shrinks as finishes land, so an
 * index into it would skip runs.
 */
import { childrenOrEmpty } from '../client/absent-ok.ts';
import type { Coordination } from '../client/coordination.ts';
import { isZkError } from '../client/zk-error.ts';
import { DroverError } from '../errors.ts';
import type { RunRecord, RunState } from './job-types.ts';
import { HISTORY_STATES, laneOf, layout } from './layout.ts';
import { mergeNames } from './history-entries.ts';
import { decodeCounter, decodeStored } from './run-codec.ts';
import { readRunView, runsOf } from './run-lookup.ts';
import { activeByClaim, readClaimGroup } from './claim-group.ts';
import { isClaimId, splitBundledRunId } from './run-id.ts';

export const PAGE_STATES = ['waiting', 'active', 'delayed', 'succeeded', 'failed', 'cancelled', 'dead', 'finished', 'all'] as const;
export type PageState = (typeof PAGE_STATES)[number];

/** Other names of a listing: its runs' own state ('queued' runs are listed as waiting). */
export const PAGE_STATE_ALIASES: Readonly<Record<string, PageState>> = { queued: 'waiting' };

/** The listing a state name stands for: a PAGE_STATES name, an alias of one, or the name as given (which listRunPage refuses). */
export function pageStateOf(name: string): PageState {
  return Object.hasOwn(PAGE_STATE_ALIASES, name) ? (PAGE_STATE_ALIASES[name] as PageState) : (name as PageState);
}

export const PAGE_LIMIT_DEFAULT = 50;
export const PAGE_LIMIT_MAX = 500;

export interface RunPage {
  runs: RunRecord[];
  /** Pass back as `cursor` for the next page; null when this was the last one. */
  next: string | null;
}

export interface PageOptions {
  state: PageState;
  limit?: number;
  cursor?: string | null;
}

/** Where a page stopped: a lane position (waiting) or a znode name, plus the run within a bundle. */
interface Position {
  /** The section (finished, all: an index into SECTIONS). */
  c?: number;
  /** The job (listings across jobs). */
  j?: string;
  /** Lane priority and item index (waiting). */
  p?: number;
  i?: number;
  /** The last znode name fully or partly read (other states). */
  n?: string;
  /** Runs of the record at the position already listed (a bundle cut by the limit). */
  k?: number;
  /** The last run listed of the claim group at the position (a group cut by the limit). */
  r?: string;
}

/** What a cursor belongs to: a page state, or history alone (job stats). */
type Listing = PageState | 'history';

interface Cursor extends Position {
  v: 1;
  s: Listing;
}

/** The parts a run's listing is made of. */
type Section = 'active' | 'waiting' | 'delayed' | 'dead' | 'history';

/** The listings made of sections, in order: unfinished first; dead before history (see the top). */
const SECTIONS: Partial<Record<Listing, readonly Section[]>> = {
  all: ['active', 'waiting', 'delayed', 'dead', 'history'],
  finished: ['dead', 'history'],
  history: ['history'],
};

const RUN_STATES: Partial<Record<PageState, ReadonlySet<RunState>>> = {
  waiting: new Set(['queued']),
  active: new Set(['active']),
  delayed: new Set(['delayed']),
  succeeded: new Set(['succeeded']),
  failed: new Set(['failed']),
  cancelled: new Set(['cancelled']),
  dead: new Set(['dead']),
  finished: new Set(['succeeded', 'failed', 'cancelled', 'dead']),
};
const HISTORY_RUN_STATES: ReadonlySet<RunState> = new Set(['succeeded', 'failed', 'cancelled']);

function badCursor(why: string): DroverError {
  return new DroverError('DROVER_INVALID_ARGUMENT', `invalid cursor: ${why} (pass back the \`next\` of the previous page)`);
}

export function encodeCursor(state: Listing, at: Position): string {
  return Buffer.from(JSON.stringify({ v: 1, s: state, ...at } satisfies Cursor)).toString('base64url');
}

export function decodeCursor(state: Listing, text: string): Position {
  let c: Partial<Cursor>;
  try {
    c = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as Partial<Cursor>;
  } catch {
    throw badCursor('not one of ours');
  }
  if (typeof c !== 'object' || c === null || c.v !== 1) throw badCursor('not one of ours');
  if (c.s !== state) throw badCursor(`it belongs to a listing of '${String(c.s)}', not '${state}'`);
  const at: Position = {};
  if (c.c !== undefined) {
    if (!Number.isInteger(c.c) || (c.c as number) < 0 || (c.c as number) >= (SECTIONS[state]?.length ?? 0)) throw badCursor('bad section');
    at.c = c.c as number;
  }
  if (c.j !== undefined) {
    if (typeof c.j !== 'string') throw badCursor('bad job');
    at.j = c.j;
  }
  if (c.p !== undefined || c.i !== undefined) {
    if (!Number.isInteger(c.p) || !Number.isInteger(c.i)) throw badCursor('bad lane position');
    at.p = c.p as number;
    at.i = c.i as number;
  }
  if (c.n !== undefined) {
    if (typeof c.n !== 'string') throw badCursor('bad name');
    at.n = c.n;
  }
  if (c.k !== undefined) {
    if (!Number.isInteger(c.k) || (c.k as number) < 0) throw badCursor('bad run index');
    at.k = c.k as number;
  }
  if (c.r !== undefined) {
    if (typeof c.r !== 'string') throw badCursor('bad run id');
    at.r = c.r;
  }
  return at;
}

function pageLimit(limit: number | undefined): number {
  const n = limit ?? PAGE_LIMIT_DEFAULT;
  if (!Number.isInteger(n) || n < 1 || n > PAGE_LIMIT_MAX) throw new DroverError('DROVER_INVALID_ARGUMENT', `limit must be an integer in 1..${PAGE_LIMIT_MAX}, got ${String(limit)}`);
  return n;
}

function checkState(state: string): asserts state is PageState {
  if (!(PAGE_STATES as readonly string[]).includes(state)) {
    throw new DroverError('DROVER_INVALID_ARGUMENT', `state must be one of ${PAGE_STATES.join(', ')}; got '${state}'`);
  }
}

/**
 * The runs a record name stands for, in the given states, in bundle order:
 * a run of its own, a bundle's runs, or one bundled run (dead entries name
 * runs, not bundles). [] when the record is gone (it moved on meanwhile).
 */
async function runsAt(client: Coordination, job: string, id: string, states: ReadonlySet<RunState>): Promise<RunRecord[]> {
  let runs: RunRecord[];
  try {
    if (splitBundledRunId(id) !== null) {
      const view = await readRunView(client, job, id);
      runs = view ? [view.record] : [];
    } else {
      const { data } = await client.get(layout.run(job, id));
      runs = runsOf(decodeStored(data, layout.run(job, id)));
    }
  } catch (err) {
    if (isZkError(err, 'NO_NODE')) return [];
    throw err;
  }
  return runs.filter((r) => states.has(r.state));
}

/** Collects runs up to `limit`; says where it stopped. */
class PageFill {
  readonly runs: RunRecord[] = [];
  constructor(private readonly limit: number) {}

  get full(): boolean {
    return this.runs.length >= this.limit;
  }

  /** Runs still wanted (records hold at least one each, when in the state). */
  get room(): number {
    return Math.max(0, this.limit - this.runs.length);
  }

  /** Adds the runs of one record from index `from`; returns how many of its runs are now listed, or null if all were. */
  take(runs: RunRecord[], from: number): number | null {
    let k = from;
    for (; k < runs.length && !this.full; k++) this.runs.push(runs[k] as RunRecord);
    return k < runs.length ? k : null;
  }
}

/** Reads ahead a few records at once (round trips in parallel), consumed in order. */
const READ_AHEAD = 16;

async function byName(
  client: Coordination,
  job: string,
  names: string[],
  idOf: (name: string) => string,
  states: ReadonlySet<RunState>,
  fill: PageFill,
  from: Position,
  /** How `names` are ordered: by name, or by name reversed (newest history first). */
  order: 'asc' | 'desc' = 'asc',
): Promise<Position | null> {
  let start = 0;
  let k = 0;
  let after: string | undefined;
  if (from.n !== undefined) {
    // Resume at the cut record (k > 0) or group (r), or after the last one read.
    const cursor = from.n;
    const at = names.indexOf(cursor);
    if (at >= 0 && from.k !== undefined && from.k > 0) {
      start = at;
      k = from.k;
    } else if (at >= 0 && from.r !== undefined) {
      start = at;
      after = from.r;
    } else {
      start = at >= 0 ? at + 1 : names.findIndex((n) => (order === 'asc' ? n > cursor : n < cursor));
      if (start < 0) start = names.length;
    }
  }
  for (let i = start; i < names.length && !fill.full; ) {
    const name = names[i] as string;
    if (isClaimId(idOf(name))) {
      const last = await groupAt(client, job, idOf(name), states, fill, after);
      after = undefined;
      i++;
      if (last !== null) return { n: name, r: last };
      if (fill.full) return i < names.length ? { n: name } : null;
      continue;
    }
    // Read ahead no further than the page has room for (a page reads the records it shows), nor past a group.
    const batch = names.slice(i, i + plainRun(names, i, Math.max(1, Math.min(READ_AHEAD, names.length - i, fill.room)), idOf));
    const read = await Promise.all(batch.map((n) => runsAt(client, job, idOf(n), states)));
    for (let b = 0; b < batch.length; b++, i++) {
      const cut = fill.take(read[b] as RunRecord[], k);
      k = 0;
      if (cut !== null) return { n: batch[b] as string, k: cut };
      if (fill.full) return i + 1 < names.length ? { n: batch[b] as string } : null;
    }
  }
  return null;
}

/** How many of the (at most `max`) names from `i` on are not claim groups: a group is read on its own. */
function plainRun(names: readonly string[], i: number, max: number, idOf: (name: string) => string): number {
  let n = 0;
  while (n < max && i + n < names.length && !isClaimId(idOf(names[i + n] as string))) n++;
  return n;
}

/**
 * A claim group's runs in `states` still active by its claim (a run listed
 * by the group may have finished, or been re-queued and claimed again by
 * another group, which lists it then), by run id, after `after`. Reads the
 * group's inflight and no more records than the page has room for. Returns
 * the last run listed when the page filled before the group's end.
 */
async function groupAt(client: Coordination, job: string, claimId: string, states: ReadonlySet<RunState>, fill: PageFill, after: string | undefined): Promise<string | null> {
  const info = await readClaimGroup(client, job, claimId);
  if (info === null) return null; // closed meanwhile: its runs have all landed
  const ids = [...new Set(info.runs)].sort().filter((id) => after === undefined || id > after);
  for (let x = 0; x < ids.length && !fill.full; ) {
    const batch = ids.slice(x, x + Math.max(1, Math.min(READ_AHEAD, fill.room)));
    const read = await Promise.all(batch.map((id) => runsAt(client, job, id, states)));
    for (let b = 0; b < batch.length; b++, x++) {
      fill.take((read[b] as RunRecord[]).filter((r) => activeByClaim(r, info)), 0);
      if (fill.full) return x + 1 < ids.length ? (batch[b] as string) : null;
    }
  }
  return null;
}

async function waiting(client: Coordination, job: string, fill: PageFill, from: Position): Promise<Position | null> {
  const states = RUN_STATES.waiting as ReadonlySet<RunState>;
  const priorities = (await childrenOrEmpty(client, layout.lanes(job)))
    .map(laneOf)
    .filter((p) => !Number.isNaN(p))
    .sort((a, b) => a - b);
  for (const p of priorities) {
    if (from.p !== undefined && p < from.p) continue;
    const [head, tail] = await Promise.all([client.get(layout.laneHead(job, p)), client.get(layout.laneTail(job, p))]);
    const h = decodeCounter(head.data, layout.laneHead(job, p));
    const t = decodeCounter(tail.data, layout.laneTail(job, p));
    let i = h;
    let k = 0;
    if (from.p === p && from.i !== undefined && from.i >= h) {
      i = from.i;
      k = from.k ?? 0;
    }
    while (i < t && !fill.full) {
      const n = Math.min(t - i, READ_AHEAD);
      const ids = await Promise.all(
        Array.from({ length: n }, (_, d) =>
          client.get(layout.laneItem(job, p, i + d)).then(
            (r) => r.data.toString('utf8'),
            (err: unknown) => {
              if (isZkError(err, 'NO_NODE')) return null; // claimed meanwhile
              throw err;
            },
          ),
        ),
      );
      const read = await Promise.all(ids.map((id) => (id === null ? [] : runsAt(client, job, id, states))));
      for (let d = 0; d < n; d++, i++) {
        const cut = fill.take(read[d] as RunRecord[], k);
        k = 0;
        if (cut !== null) return { p, i, k: cut };
        // Full: a next page only when something is left to read (a page that fits exactly ends the listing).
        if (fill.full) return i + 1 < t || p !== priorities[priorities.length - 1] ? { p, i: i + 1 } : null;
      }
    }
  }
  return null;
}

/** The states listed from one structure (not made of sections). */
type SingleState = Exclude<PageState, 'finished' | 'all'>;

/** One job's page of runs in `state`. */
export async function listRunPage(client: Coordination, job: string, opts: PageOptions): Promise<RunPage> {
  checkState(opts.state);
  if (SECTIONS[opts.state]) return sectionsPage(client, [job], opts.state, opts);
  const fill = new PageFill(pageLimit(opts.limit));
  const from = opts.cursor ? decodeCursor(opts.state, opts.cursor) : {};
  const at = await pageOf(client, job, opts.state as SingleState, fill, from);
  return { runs: fill.runs, next: at === null ? null : encodeCursor(opts.state, at) };
}

/**
 * One job's history alone (succeeded, failed and cancelled merged newest
 * first, without finished's dead section): what job stats read.
 */
export async function listHistoryPage(client: Coordination, job: string, opts: { limit?: number; cursor?: string | null }): Promise<RunPage> {
  return sectionsPage(client, [job], 'history', opts);
}

/**
 * A page of a listing made of sections (finished, all; see the top): each
 * section in turn, job by job, but history merged across the jobs newest
 * first. The cursor names the section and the place in it.
 */
async function sectionsPage(client: Coordination, jobs: readonly string[], listing: Listing, opts: { limit?: number; cursor?: string | null }): Promise<RunPage> {
  const sections = SECTIONS[listing] as readonly Section[];
  const fill = new PageFill(pageLimit(opts.limit));
  const from = opts.cursor ? decodeCursor(listing, opts.cursor) : {};
  const sorted = [...jobs].sort();
  const page = (at: Position | null): RunPage => ({ runs: fill.runs, next: at === null ? null : encodeCursor(listing, at) });
  const c0 = from.c ?? 0;
  for (let c = c0; c < sections.length; c++) {
    const section = sections[c] as Section;
    const at = c === c0 ? from : {};
    if (section === 'history') {
      const pos = await historyAcross(client, sorted, fill, at);
      if (pos !== null) return page({ ...pos, c });
    } else {
      for (const [x, job] of sorted.entries()) {
        if (at.j !== undefined && job < at.j) continue;
        const pos = await pageOf(client, job, section, fill, at.j === job ? at : {});
        if (pos !== null) return page({ ...pos, c, j: job });
        if (fill.full) {
          const after = sorted[x + 1];
          if (after !== undefined) return page({ c, j: after });
          break;
        }
      }
    }
    if (fill.full) return page(c + 1 < sections.length ? { c: c + 1 } : null);
  }
  return page(null);
}

/**
 * History of these jobs, newest first: each job's three state directories
 * merged (a bundle's entries share a name: once), then all jobs' names by
 * name descending (= end time), ties by job. A page lists the directories
 * (a listing of names, kept while a long directory does not change) and
 * reads only the records it shows.
 */
async function historyAcross(client: Coordination, jobs: readonly string[], fill: PageFill, from: Position): Promise<Position | null> {
  const lists = await Promise.all(jobs.map(async (job) => mergeNames(await Promise.all(HISTORY_STATES.map((s) => sortedChildren(client, layout.historyDir(job, s)))))));
  const entries = jobs.flatMap((job, x) => (lists[x] as string[]).map((name) => ({ job, name })));
  if (jobs.length > 1) entries.sort((a, b) => (a.name !== b.name ? (a.name < b.name ? 1 : -1) : a.job < b.job ? -1 : a.job > b.job ? 1 : 0));
  else entries.reverse();
  let start = 0;
  let k = 0;
  if (from.n !== undefined) {
    const n = from.n;
    const j = from.j ?? (jobs[0] as string);
    const at = entries.findIndex((e) => e.name === n && e.job === j);
    if (at >= 0 && from.k !== undefined && from.k > 0) {
      start = at;
      k = from.k;
    } else {
      start = at >= 0 ? at + 1 : entries.findIndex((e) => e.name < n || (e.name === n && e.job > j));
      if (start < 0) start = entries.length;
    }
  }
  for (let i = start; i < entries.length && !fill.full; ) {
    const batch = entries.slice(i, i + Math.max(1, Math.min(READ_AHEAD, fill.room)));
    const read = await Promise.all(batch.map((e) => runsAt(client, e.job, e.name.slice(16), HISTORY_RUN_STATES)));
    for (let b = 0; b < batch.length; b++, i++) {
      const e = batch[b] as { job: string; name: string };
      const cut = fill.take(read[b] as RunRecord[], k);
      k = 0;
      if (cut !== null) return { n: e.name, j: e.job, k: cut };
      if (fill.full) return i + 1 < entries.length ? { n: e.name, j: e.job } : null;
    }
  }
  return null;
}

/** Listings at least this long are kept for the next page while the directory does not change. */
const LISTING_CACHE_MIN = 1000;
const LISTING_CACHE_ENTRIES = 8;
const listings = new WeakMap<Coordination, Map<string, { cversion: number; names: string[] }>>();

/**
 * A directory's children, sorted. ZooKeeper lists children whole (no range
 * reads), so paging a long history would list it again per page: a long
 * listing is kept while the directory's cversion (one per child created or
 * deleted) stays what it was, so the next page costs one exists.
 */
async function sortedChildren(client: Coordination, path: string): Promise<string[]> {
  const cache = listings.get(client) ?? new Map<string, { cversion: number; names: string[] }>();
  listings.set(client, cache);
  const kept = cache.get(path);
  if (kept) {
    const stat = await client.exists(path);
    if (stat?.cversion === kept.cversion) return kept.names;
    cache.delete(path);
  }
  const { children, stat } = await client.childrenWithStat(path).catch((err: unknown) => {
    if (isZkError(err, 'NO_NODE')) return { children: [] as string[], stat: null };
    throw err;
  });
  const names = children.sort();
  if (stat && names.length >= LISTING_CACHE_MIN) {
    cache.set(path, { cversion: stat.cversion, names });
    while (cache.size > LISTING_CACHE_ENTRIES) cache.delete(cache.keys().next().value as string);
  }
  return names;
}

async function pageOf(client: Coordination, job: string, state: SingleState, fill: PageFill, from: Position): Promise<Position | null> {
  const states = RUN_STATES[state] as ReadonlySet<RunState>;
  const sorted = (path: string): Promise<string[]> => sortedChildren(client, path);
  switch (state) {
    case 'waiting':
      return waiting(client, job, fill, from);
    case 'active':
      return byName(client, job, await sorted(layout.inflight(job)), (n) => n, states, fill, from);
    case 'delayed':
      // d-<dueMs13>-<runId>
      return byName(client, job, await sorted(layout.delayed(job)), (n) => n.slice(16), states, fill, from);
    case 'dead':
      return byName(client, job, await sorted(layout.dead(job)), (n) => n, states, fill, from);
    case 'succeeded':
    case 'failed':
    case 'cancelled': {
      // h-<endMs13>-<runId>: by name is by end time; newest first.
      const names = [...(await sorted(layout.historyDir(job, state)))].reverse();
      return byName(client, job, names, (n) => n.slice(16), states, fill, from, 'desc');
    }
  }
}


/** A page of runs in `state` across every job, job by job (in name order); finished and all section by section (see the top). */
export async function listRunPageAcrossJobs(client: Coordination, jobs: readonly string[], opts: PageOptions): Promise<RunPage> {
  checkState(opts.state);
  if (SECTIONS[opts.state]) return sectionsPage(client, jobs, opts.state, opts);
  const state = opts.state as SingleState;
  const fill = new PageFill(pageLimit(opts.limit));
  const from = opts.cursor ? decodeCursor(opts.state, opts.cursor) : {};
  const sorted = [...jobs].sort();
  for (const job of sorted) {
    if (from.j !== undefined && job < from.j) continue;
    const at = await pageOf(client, job, state, fill, from.j === job ? from : {});
    if (at !== null) return { runs: fill.runs, next: encodeCursor(opts.state, { ...at, j: job }) };
    if (fill.full) {
      const after = sorted[sorted.indexOf(job) + 1];
      return { runs: fill.runs, next: after === undefined ? null : encodeCursor(opts.state, { j: after }) };
    }
  }
  return { runs: fill.runs, next: null };
}
