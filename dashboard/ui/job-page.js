// A job's page (#/jobs/<job>?tab=<state>&cursor=<c>): its runs by state in
// tabs with counts, a page at a time from the server (next / previous), its
// stats over time, and bulk actions, each confirmed in a dialog first.
// Kept current from the live feed: when the queues or runs events show the
// job changed, its counts and the page shown are read again (at most once a
// second) and the rows patched in place.
import { api } from './api.js';
import { h, byId, patchChildren, formatTime, formatDuration, empty } from './dom.js';
import { confirmAction, checkbox } from './confirm.js';
import { jobHref, runHref, navigate } from './router.js';
import { createChart } from './charts.js';

const TABS = ['waiting', 'active', 'delayed', 'succeeded', 'failed', 'cancelled', 'dead', 'finished'];
/** Every tab's count comes from the server, each from an O(1) source (history keeps a directory per final state). */
const TAB_TITLE = {
  succeeded: 'a bundle counts once in each state its runs ended in',
  failed: 'ended failed without being dead-lettered (input refused at claim, a bundled result too large)',
  cancelled: 'a bundle counts once in each state its runs ended in',
  dead: 'attempts exhausted (a handler error ends here once its retries are spent); retry them, or clean them',
  finished: 'every run that ended: dead + succeeded + failed + cancelled; listed dead first (by run id), then the others newest first',
};
const TAB_LABEL = { finished: 'all finished' };
const LIMIT_DEFAULT = 50;
const COLUMNS = 9;
const UNITS = { seconds: 1000, minutes: 60_000, hours: 3_600_000, days: 86_400_000 };

/** The time a tab orders or is about: when it was enqueued, is due, started, finished. */
function timeColumn(tab) {
  if (tab === 'waiting') return ['enqueued', (r) => r.enqueuedAt];
  if (tab === 'delayed') return ['due', (r) => r.dueAt];
  if (tab === 'active') return ['started', (r) => r.startedAt];
  return ['finished', (r) => r.finishedAt];
}

function errorText(error) {
  if (!error) return '';
  return [error.name && error.name !== 'Error' ? error.name : null, error.code, error.message].filter(Boolean).join(' · ');
}

function message(err) {
  return `${err.code ? `${err.code}: ` : ''}${err.message}`;
}

const enc = encodeURIComponent;

/** `live()` returns the page's live state (queues, workers, runs) from the SSE feed. */
export function createJobPage({ live, toast }) {
  let current = null; // { job, tab, cursor, limit }
  let counts = null;
  let page = null; // { runs, next } | { error }
  let seq = 0;
  let lastRead = 0;
  let refreshTimer = null;
  let statsTimer = null;
  let liveSig = '';
  let stats = null;
  let chart = null;
  // Where "previous" goes from a page, and its number: filled as pages are followed (so browser back works too).
  const prevOf = new Map();
  const pageNo = new Map();
  const pageKey = (cursor) => `${current.job}\u0000${current.tab}\u0000${current.limit}\u0000${cursor}`;

  const flash = (text, ok) => {
    const el = byId('job-flash');
    el.textContent = text;
    el.className = `result ${ok ? 'ok' : 'bad'}`;
  };

  function href(params) {
    const { job, tab, limit } = current;
    return jobHref(job, { tab, limit: limit === LIMIT_DEFAULT ? undefined : limit, ...params });
  }

  // --- reading ---------------------------------------------------------------

  async function load() {
    if (!current) return;
    lastRead = Date.now();
    const my = ++seq;
    const { job, tab, cursor, limit } = current;
    const q = new URLSearchParams({ state: tab, limit: String(limit) });
    if (cursor) q.set('cursor', cursor);
    const [c, p] = await Promise.allSettled([api('GET', `/api/jobs/${enc(job)}/counts`), api('GET', `/api/jobs/${enc(job)}/runs?${q}`)]);
    if (my !== seq || !current) return;
    counts = c.status === 'fulfilled' ? c.value.counts : counts;
    page = p.status === 'fulfilled' ? p.value : { error: p.reason };
    render();
  }

  /** Re-read soon, at most once a second. */
  function refreshSoon() {
    if (refreshTimer || !current) return;
    refreshTimer = setTimeout(
      () => {
        refreshTimer = null;
        void load();
      },
      Math.max(0, lastRead + 1000 - Date.now()),
    );
  }

  async function loadStats() {
    if (!current) return;
    const job = current.job;
    try {
      stats = await api('GET', `/api/jobs/${enc(job)}/stats`);
    } catch (err) {
      stats = { error: err };
    }
    if (current?.job === job) renderStats();
  }

  // --- rendering -------------------------------------------------------------

  function queueOf(job) {
    return live().queues.find((q) => q.job === job);
  }

  function servingWorkers(job) {
    return live().workers.filter((w) => w.jobs.includes(job));
  }

  function renderHead() {
    const { job } = current;
    const q = queueOf(job);
    const paused = counts?.paused ?? q?.paused ?? false;
    byId('job-title').textContent = job;
    patchChildren(byId('job-badges'), [paused ? h('span', { class: 'badge warn', 'data-testid': 'job-paused' }, 'paused') : null, q?.spec?.schedule ? h('span', { class: 'badge' }, 'cron') : null, q && !q.spec ? h('span', { class: 'badge warn' }, 'no spec published') : null]);
    const pause = byId('job-pause');
    pause.textContent = paused ? 'resume' : 'pause';
    pause.dataset.action = paused ? 'resume' : 'pause';
    const spec = q?.spec ?? {};
    const facts = [
      spec.retries !== undefined ? `retries ${spec.retries}` : null,
      spec.concurrency !== undefined ? `concurrency ${spec.concurrency}` : null,
      spec.timeoutMs !== undefined ? `timeout ${formatDuration(spec.timeoutMs)}` : null,
      spec.partitions !== undefined ? `${spec.partitions} partitions` : null,
      spec.schedule?.cron ? `cron ${spec.schedule.cron}` : null,
      q ? `in / out per min ${q.enqueuedPerMin ?? 0} / ${q.finishedPerMin ?? 0}` : null,
    ].filter(Boolean);
    byId('job-spec').textContent = facts.join(' · ');
    const serving = servingWorkers(job);
    const remove = byId('bulk-remove');
    remove.disabled = serving.length > 0;
    byId('bulk-remove-note').textContent = serving.length ? `served by ${serving.length} worker${serving.length > 1 ? 's' : ''} (${serving.map((w) => w.name).join(', ')}): stop them first` : 'no worker serves it';
    byId('bulk-retry-dead').disabled = counts ? counts.dead === 0 : false;
    byId('bulk-retry-failed').disabled = counts ? counts.failed === 0 : false;
  }

  function countOf(tab) {
    if (!counts) return '…';
    const n = countFor(tab);
    // A dashboard newer than the API it talks to may get no per-state count: say so rather than 0.
    return n === undefined ? '—' : String(n);
  }

  /** The count of a tab's runs: all finished is history (counts.finished) and dead. */
  function countFor(tab) {
    if (tab === 'finished') return counts.finished === undefined || counts.dead === undefined ? undefined : counts.finished + counts.dead;
    return counts[tab];
  }

  function renderTabs() {
    const tabs = TABS.map((tab) =>
      h(
        'a',
        {
          href: href({ tab, cursor: undefined }),
          class: `tab${tab === current.tab ? ' current' : ''}${tab === 'finished' ? ' tab-all' : ''}`,
          dataset: { key: tab, tab },
          'aria-current': tab === current.tab ? 'page' : undefined,
          title: TAB_TITLE[tab],
        },
        h('span', { class: 'tab-name' }, TAB_LABEL[tab] ?? tab),
        h('span', { class: 'count', dataset: { count: tab } }, countOf(tab)),
      ),
    );
    patchChildren(byId('job-tabs'), tabs);
  }

  function renderPager() {
    const { cursor, tab, limit } = current;
    const no = cursor ? pageNo.get(pageKey(cursor)) : 1;
    // Counts are of records (a bundle is one) while pages list runs: for bundled jobs, "of N" is a floor.
    const total = counts && countFor(tab) !== undefined ? Math.max(1, Math.ceil(countFor(tab) / limit)) : null;
    const shown = page?.runs?.length ?? 0;
    const parts = [];
    if (no !== undefined) parts.push(`page ${no}${total !== null ? ` of ${total}` : ''}`);
    if (no !== undefined && shown) parts.push(`runs ${(no - 1) * limit + 1}–${(no - 1) * limit + shown}`);
    else if (shown) parts.push(`${shown} runs`);
    byId('page-info').textContent = parts.join(' · ');
    byId('page-prev').disabled = !cursor;
    byId('page-next').disabled = !page?.next;
  }

  function actionsFor(r) {
    const buttons = [];
    if (r.state === 'failed' || r.state === 'dead' || r.state === 'cancelled') buttons.push(h('button', { class: 'small', dataset: { action: 'retry' }, onclick: () => runAction(r, 'retry', `retrying ${r.id}`) }, 'retry'));
    if (r.state === 'delayed') buttons.push(h('button', { class: 'small', dataset: { action: 'promote' }, onclick: () => promote(r) }, 'run now'));
    if (!['succeeded', 'failed', 'dead', 'cancelled'].includes(r.state)) buttons.push(h('button', { class: 'small danger', dataset: { action: 'cancel' }, onclick: () => runAction(r, 'cancel', `cancel requested for ${r.id}`) }, 'cancel'));
    return buttons;
  }

  function renderRows(now = Date.now()) {
    const [label, timeOf] = timeColumn(current.tab);
    byId('job-time-col').textContent = label;
    const body = byId('job-runs');
    if (!page) return patchChildren(body, [empty(COLUMNS, 'loading…')]);
    if (page.error) {
      const first = h('a', { href: href({ cursor: undefined }) }, 'first page');
      return patchChildren(body, [h('tr', { class: 'empty' }, h('td', { colspan: COLUMNS }, `cannot read this page: ${message(page.error)} — `, first))]);
    }
    const rows = page.runs.map((r) => {
      const pct = r.state === 'succeeded' ? 100 : Math.round(r.progress?.pct ?? 0);
      const duration = r.startedAt ? (r.finishedAt ?? (r.state === 'active' ? now : undefined)) - r.startedAt : undefined;
      return h(
        'tr',
        { class: `run state-${r.state}`, dataset: { key: `${r.job}/${r.id}`, runId: r.id, state: r.state } },
        h('td', { class: 'mono' }, h('a', { href: runHref(r.job, r.id), class: 'run-link' }, r.id)),
        h('td', {}, h('span', { class: `badge state ${r.state}` }, r.state), r.partition !== undefined ? h('span', { class: 'badge' }, `p${r.partition}`) : null),
        h('td', { class: 'num' }, r.maxAttempts ? `${(r.attempt ?? 0) - (r.freeAttempts ?? 0)}/${r.maxAttempts}${r.freeAttempts ? ` +${r.freeAttempts} free` : ''}` : (r.attempt ?? '—')),
        h('td', { class: 'small' }, formatTime(timeOf(r))),
        h('td', { class: 'num' }, formatDuration(duration)),
        h(
          'td',
          { class: 'progress-col' },
          h('div', { class: 'progress', role: 'progressbar', 'aria-valuenow': pct, 'aria-valuemin': 0, 'aria-valuemax': 100 }, h('div', { class: 'progress-bar', style: { width: `${pct}%` }, dataset: { pct: String(pct) } })),
          h('div', { class: 'progress-msg' }, r.progress?.message ? `${pct}% · ${r.progress.message}` : `${pct}%`),
        ),
        h('td', { class: 'mono small' }, r.worker ?? '—'),
        h('td', { class: 'error' }, errorText(r.error)),
        h('td', { class: 'actions' }, actionsFor(r)),
      );
    });
    patchChildren(body, rows.length ? rows : [empty(COLUMNS, current.cursor ? 'no more runs' : `no ${current.tab === 'finished' ? 'finished' : current.tab} runs`)]);
  }

  function renderStats() {
    const el = byId('job-stats');
    const win = byId('job-stats-window');
    if (!stats) {
      patchChildren(el, [h('div', { class: 'muted' }, 'loading…')]);
      return;
    }
    if (stats.error) {
      win.textContent = '';
      patchChildren(el, [h('div', { class: 'muted' }, `stats not available: ${message(stats.error)}`)]);
      chart?.setData([[], [], []]);
      return;
    }
    const w = stats.window ?? {};
    win.textContent = w.from ? `${formatTime(w.from)} – ${formatTime(w.to)} · ${w.runs ?? 0} runs` : '';
    const pct = (x) => (Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : '—');
    const num = (x, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : '—');
    const items = [
      ['throughput', `${num(stats.throughputPerMin)} / min`, 'throughput'],
      ['duration p50', formatDuration(stats.durationMs?.p50), 'p50'],
      ['duration p95', formatDuration(stats.durationMs?.p95), 'p95'],
      ['failure rate (failed + dead)', pct(stats.failureRate), 'failure-rate'],
    ];
    // Named as the tabs are: failed (history's failed tab) and dead (attempts exhausted) are both failures.
    if (stats.outcomes) items.push(['failures', `${stats.outcomes.failed} failed · ${stats.outcomes.dead} dead`, 'failures']);
    patchChildren(
      el,
      items.map(([label, value, key]) => h('div', { class: 'stat', dataset: { key, stat: key } }, h('div', { class: 'stat-value' }, value), h('div', { class: 'stat-label' }, label))),
    );
    const series = Array.isArray(stats.series) ? stats.series : [];
    chart ??= createChart(byId('job-stats-chart'), [
      { label: 'finished', stroke: '#2bb673', fill: 'rgba(43,182,115,0.15)', width: 2 },
      { label: 'failures (failed + dead)', stroke: '#e5533d', width: 2 },
    ]);
    chart.resize();
    chart.setData([series.map((s) => s.at / 1000), series.map((s) => s.finished ?? 0), series.map((s) => s.failures ?? s.failed ?? 0)]);
  }

  function render() {
    if (!current) return;
    renderHead();
    renderTabs();
    renderPager();
    renderRows();
  }

  // --- actions ---------------------------------------------------------------

  async function act(fn, done) {
    try {
      const res = await fn();
      flash(typeof done === 'function' ? done(res) : done, true);
    } catch (err) {
      flash(message(err), false);
    }
    void load();
  }

  function runAction(r, action, done) {
    return act(() => api('POST', `/api/runs/${enc(r.job)}/${enc(r.id)}/${action}`), done);
  }

  async function promote(r) {
    const { ok } = await confirmAction({ title: 'Run now', text: `Run ${r.id} of ${r.job} now instead of at ${formatTime(r.dueAt)}?`, okLabel: 'Run now' });
    if (ok) await act(() => api('POST', `/api/runs/${enc(r.job)}/${enc(r.id)}/promote`), `promoted ${r.id}: it waits for a worker now`);
  }

  async function retryAll(state) {
    const job = current.job;
    const n = counts && counts[state] !== undefined ? `${counts[state]} ` : '';
    const text = `Retry all ${n}${state} runs of ${job}?`;
    const { ok } = await confirmAction({ title: `Retry all ${state}`, text, okLabel: 'Retry all' });
    if (ok) await act(() => api('POST', `/api/jobs/${enc(job)}/retry-all`, { state }), (res) => `retried ${res.retried ?? 0} ${state} run${res.retried === 1 ? '' : 's'}${res.skipped ? `, skipped ${res.skipped}` : ''}`);
  }

  async function clean(e) {
    e.preventDefault();
    const job = current.job;
    const state = byId('clean-state').value;
    const age = Number(byId('clean-age').value);
    const unit = byId('clean-unit').value;
    if (!Number.isFinite(age) || age < 0) return flash('the age must be a number ≥ 0', false);
    const olderThanMs = Math.round(age * UNITS[unit]);
    const what = state === 'finished' ? 'finished (succeeded, failed and cancelled)' : state;
    const { ok } = await confirmAction({ title: 'Clean runs', text: `Remove the ${what} runs of ${job} that finished more than ${age} ${unit} ago? Their records and logs are deleted; this cannot be undone.`, okLabel: 'Remove runs', danger: true });
    if (ok) await act(() => api('POST', `/api/jobs/${enc(job)}/clean`, { olderThanMs, state }), (res) => `removed ${res.removed ?? 0} ${state} run${res.removed === 1 ? '' : 's'}`);
  }

  async function removeJob() {
    const job = current.job;
    const c = counts;
    const held = c ? `its ${c.waiting} waiting, ${c.delayed} delayed, ${c.dead} dead and ${c.finished} finished runs` : 'its runs';
    const force = checkbox('also if some of its runs are still active (force)', 'confirm-force');
    const { ok, extra } = await confirmAction({ title: 'Remove job', text: `Remove job ${job}: its spec, ${held}, its schedule and history? No worker serves it. This cannot be undone.`, okLabel: 'Remove job', danger: true, extra: force });
    if (!ok) return;
    const forced = extra?.querySelector('input')?.checked === true;
    try {
      await api('POST', `/api/jobs/${enc(job)}/remove`, forced ? { force: true } : {});
      toast(`removed job ${job}`, true);
      navigate('#/');
    } catch (err) {
      flash(message(err), false);
    }
  }

  async function pauseOrResume() {
    const job = current.job;
    const action = byId('job-pause').dataset.action === 'resume' ? 'resume' : 'pause';
    await act(() => api('POST', `/api/jobs/${enc(job)}/${action}`), `${action === 'pause' ? 'paused' : 'resumed'} ${job}`);
  }

  byId('page-next').addEventListener('click', () => {
    if (!current || !page?.next) return;
    const next = page.next;
    prevOf.set(pageKey(next), current.cursor);
    const no = current.cursor ? pageNo.get(pageKey(current.cursor)) : 1;
    if (no !== undefined) pageNo.set(pageKey(next), no + 1);
    navigate(href({ cursor: next }));
  });
  byId('page-prev').addEventListener('click', () => {
    if (!current?.cursor) return;
    // Unknown (a page opened from its URL): back to the first page.
    navigate(href({ cursor: prevOf.get(pageKey(current.cursor)) || undefined }));
  });
  byId('bulk-retry-failed').addEventListener('click', () => retryAll('failed'));
  byId('bulk-retry-dead').addEventListener('click', () => retryAll('dead'));
  byId('bulk-clean').addEventListener('submit', clean);
  byId('bulk-remove').addEventListener('click', removeJob);
  byId('job-pause').addEventListener('click', pauseOrResume);

  // Durations of active runs grow with the clock.
  setInterval(() => {
    if (current?.tab === 'active' && page?.runs) renderRows();
  }, 1000);

  function liveSignature(state) {
    const q = state.queues.find((x) => x.job === current.job);
    const queue = q ? [q.depth, q.inflight, q.delayed, q.dead, q.succeeded, q.failed, q.cancelled, q.paused, q.finishedPerMin, q.enqueuedPerMin].join(',') : '-';
    const runs = state.runs
      .filter((r) => r.job === current.job)
      .map((r) => `${r.id}:${r.state}:${r.attempt ?? ''}:${r.progress?.pct ?? ''}:${r.progress?.message ?? ''}`)
      .join(';');
    return `${queue}|${runs}`;
  }

  return {
    show(job, params) {
      const tab = TABS.includes(params.get('tab')) ? params.get('tab') : 'waiting';
      const limit = Math.min(500, Math.max(1, Number(params.get('limit')) || LIMIT_DEFAULT));
      const next = { job, tab, cursor: params.get('cursor') ?? '', limit };
      const sameJob = current?.job === job;
      const samePage = sameJob && current.tab === next.tab && current.cursor === next.cursor && current.limit === next.limit;
      current = next;
      if (!sameJob) {
        counts = null;
        stats = null;
        byId('job-flash').textContent = '';
        renderStats();
        void loadStats();
        clearInterval(statsTimer);
        // Stats read up to a page of history and of dead runs: every 15 s is plenty for "over time".
        statsTimer = setInterval(() => void loadStats(), 15_000);
      }
      if (!samePage) page = null;
      liveSig = liveSignature(live());
      render();
      void load();
    },
    hide() {
      current = null;
      seq++;
      clearInterval(statsTimer);
      statsTimer = null;
    },
    /** A section of the live feed changed: re-read if it shows this job moved. */
    onLive(section) {
      if (!current) return;
      if (section === 'workers' || section === 'queues') renderHead();
      if (section !== 'queues' && section !== 'runs' && section !== 'snapshot') return;
      const sig = liveSignature(live());
      if (sig === liveSig) return;
      liveSig = sig;
      refreshSoon();
    },
    resize() {
      chart?.resize();
    },
  };
}
