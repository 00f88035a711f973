// The page: one SSE stream keeps `state` current; each section of the
// overview is patched when its part of the state changes. Hash routes
// (router.js) show the overview, a job's page or a run's page.
import { api, subscribe } from './api.js';
import { h, byId, patchChildren, TIME_ZONE } from './dom.js';
import { createCharts } from './charts.js';
import { createTreeBrowser } from './tree-browser.js';
import { createJobPage } from './job-page.js';
import { createRunPage } from './run-page.js';
import { parseHash, navigate, runHref } from './router.js';
import * as views from './views.js';

const state = { workers: [], queues: [], runs: [], schedules: [], partitions: [], barriers: [], scheduler: { candidates: [] }, ensemble: [], metrics: [] };
const filter = { job: '', state: '', expanded: new Set() };
const charts = createCharts();
const tree = createTreeBrowser();

let toastTimer;
/** A message in the header, for actions whose page went away (a removed job) or has no place of its own. */
function toast(text, ok) {
  const el = byId('toast');
  el.textContent = text;
  el.className = `toast ${ok ? 'ok' : 'bad'}`;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    el.textContent = '';
    el.className = 'toast';
  }, 8000);
}

const jobPage = createJobPage({ live: () => state, toast });
const runPage = createRunPage({ toast });

function flash(text, ok) {
  const el = byId('enqueue-result');
  el.textContent = text;
  el.className = `result ${ok ? 'ok' : 'bad'}`;
}

const actions = {
  toggle(runId) {
    if (filter.expanded.has(runId)) filter.expanded.delete(runId);
    else filter.expanded.add(runId);
    render.runs();
  },
  async pause(job) {
    await run(() => api('POST', `/api/jobs/${encodeURIComponent(job)}/pause`), `paused ${job}`);
  },
  async resume(job) {
    await run(() => api('POST', `/api/jobs/${encodeURIComponent(job)}/resume`), `resumed ${job}`);
  },
  async retry(job, runId) {
    await run(() => api('POST', `/api/runs/${encodeURIComponent(job)}/${encodeURIComponent(runId)}/retry`), `retrying ${runId}`);
  },
  async cancel(job, runId) {
    await run(() => api('POST', `/api/runs/${encodeURIComponent(job)}/${encodeURIComponent(runId)}/cancel`), `cancel requested for ${runId}`);
  },
};

async function run(fn, done) {
  try {
    await fn();
    flash(done, true);
  } catch (err) {
    flash(`${err.code ? `${err.code}: ` : ''}${err.message}`, false);
  }
}

// A state filter shows that state's runs read from the cluster (all of them, a
// page of 200), not the live table's newest few; refreshed as runs change.
let stateRuns = null;
let stateQuery = '';
let stateReading = null;
async function loadStateRuns() {
  if (!filter.state) {
    stateRuns = null;
    stateQuery = '';
    render.runs();
    await loadDeadRuns();
    return;
  }
  const params = new URLSearchParams({ state: filter.state, limit: '200' });
  if (filter.job) params.set('job', filter.job);
  const query = params.toString();
  stateQuery = query;
  try {
    const { runs } = await api('GET', `/api/runs?${query}`);
    if (stateQuery === query) stateRuns = runs;
  } catch (err) {
    flash(`${err.code ? `${err.code}: ` : ''}${err.message}`, false);
  }
  render.runs();
}
// Without a state filter the live table shows the unfinished runs and the newest finished ones it saw;
// dead runs (attempts exhausted: every handler error once its retries are spent) are read from the
// cluster, a page of them, and listed between the two, so no failure is hidden. Re-read when a job's
// dead count moves (the queues feed carries it).
const DEAD_SHOWN = 50;
let deadRuns = null;
let deadQuery = '';
let deadSig = '';
let deadReading = null;
async function loadDeadRuns() {
  if (filter.state) {
    deadRuns = null;
    return;
  }
  const params = new URLSearchParams({ state: 'dead', limit: String(DEAD_SHOWN) });
  if (filter.job) params.set('job', filter.job);
  const query = params.toString();
  deadQuery = query;
  try {
    const { runs } = await api('GET', `/api/runs?${query}`);
    if (deadQuery === query) deadRuns = runs;
  } catch {
    // The live table still shows the dead runs it saw finish.
  }
  render.runs();
}
function refreshDeadRuns() {
  const sig = state.queues.map((q) => `${q.job}:${q.dead ?? 0}`).join(',');
  if (filter.state || sig === deadSig || deadReading) return;
  deadSig = sig;
  deadReading = new Promise((resolve) => setTimeout(resolve, 1000)).then(loadDeadRuns).finally(() => {
    deadReading = null;
  });
}
const FINISHED = new Set(['succeeded', 'failed', 'dead', 'cancelled']);
/** The live table with the dead page between its unfinished and its finished runs (each run once; live rows win). */
function withDead(live, dead) {
  if (!dead) return live;
  const key = (r) => `${r.job}/${r.id}`;
  const unfinished = live.filter((r) => !FINISHED.has(r.state));
  const moved = new Set(unfinished.map(key));
  const deadRows = dead.filter((r) => !moved.has(key(r)));
  const listed = new Set(deadRows.map(key));
  return [...unfinished, ...deadRows, ...live.filter((r) => FINISHED.has(r.state) && !listed.has(key(r)))];
}

function refreshStateRuns() {
  if (!filter.state || stateReading) return;
  stateReading = new Promise((resolve) => setTimeout(resolve, 1000)).then(loadStateRuns).finally(() => {
    stateReading = null;
  });
}

const render = {
  workers: () => views.renderWorkers(state.workers),
  queues: () => views.renderQueues(state.queues, actions),
  runs: () => views.renderRuns(stateRuns ?? withDead(state.runs, deadRuns), filter, actions),
  schedules: () => views.renderSchedules(state.schedules),
  partitions: () => views.renderPartitions(state.partitions),
  barriers: () => views.renderBarriers(state.barriers),
  scheduler: () => views.renderScheduler(state.scheduler),
  ensemble: () => views.renderEnsemble(state.ensemble),
};

function onEvent(section, data) {
  if (section === 'snapshot') {
    Object.assign(state, data);
    refreshDeadRuns();
    for (const r of Object.values(render)) r();
    charts.reset(state.metrics);
  } else if (section === 'metrics') {
    state.metrics.push(data);
    if (state.metrics.length > 600) state.metrics.splice(0, state.metrics.length - 300);
    charts.add(data);
    return;
  } else {
    state[section] = data;
    if (section === 'runs') refreshStateRuns();
    if (section === 'queues') refreshDeadRuns();
    render[section]?.();
  }
  jobPage.onLive(section, state);
  runPage.onLive(section, state);
}

function onStatus(live) {
  const el = byId('live-status');
  el.classList.toggle('on', live);
  el.querySelector('.label').textContent = live ? 'live' : 'reconnecting…';
}

byId('enqueue').addEventListener('submit', async (e) => {
  e.preventDefault();
  const job = byId('enqueue-job').value;
  const text = byId('enqueue-input').value.trim();
  let input = null;
  if (text) {
    try {
      input = JSON.parse(text);
    } catch (err) {
      flash(`the payload is not JSON: ${err.message}`, false);
      return;
    }
  }
  delete byId('enqueue-result').dataset.runId;
  await run(async () => {
    const res = await api('POST', `/api/jobs/${encodeURIComponent(job)}/runs`, { input });
    byId('enqueue-result').dataset.runId = res.runId;
    return res;
  }, `enqueued ${job}`);
  const id = byId('enqueue-result').dataset.runId;
  if (id) flash(`enqueued ${job}: ${id}`, true);
});

byId('runs-job').addEventListener('change', (e) => {
  filter.job = e.target.value;
  void loadStateRuns();
});
byId('runs-state').addEventListener('change', (e) => {
  filter.state = e.target.value;
  void loadStateRuns();
});

// Durations of active runs grow with the clock (the rows are patched: selections survive).
setInterval(() => render.runs(), 1000);

// Search by run id: one match opens its page.
byId('search').addEventListener('submit', async (e) => {
  e.preventDefault();
  const out = byId('search-result');
  const runId = byId('search-input').value.trim();
  patchChildren(out, []);
  if (!runId) return;
  // Run ids are znode names (the API's pattern): anything else cannot be one.
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(runId)) {
    patchChildren(out, [h('span', { class: 'bad' }, `not a run id: ${runId}`)]);
    return;
  }
  try {
    const { runs } = await api('GET', `/api/search?runId=${encodeURIComponent(runId)}`);
    if (runs.length === 1) {
      navigate(runHref(runs[0].job, runs[0].id));
      return;
    }
    if (runs.length === 0) {
      patchChildren(out, [h('span', { class: 'bad' }, `no run with the id ${runId}`)]);
      return;
    }
    patchChildren(out, [`${runs.length} runs with this id: `, runs.map((r) => [h('a', { href: runHref(r.job, r.id) }, `${r.job}/${r.id}`), ` (${r.state}) `])]);
  } catch (err) {
    patchChildren(out, [h('span', { class: 'bad' }, `${err.code ? `${err.code}: ` : ''}${err.message}`)]);
  }
});

// Pages: the overview, a job's page, a run's page.
let shown = null;
function route() {
  const r = parseHash();
  const key = r.page === 'job' ? `job:${r.job}` : r.page === 'run' ? `run:${r.job}/${r.runId}` : 'overview';
  for (const [page, id] of [['overview', 'page-overview'], ['job', 'page-job'], ['run', 'page-run']]) byId(id).hidden = r.page !== page;
  for (const a of document.querySelectorAll('header nav a')) a.classList.toggle('current', r.page === 'overview' && (a.getAttribute('href') === '#/' ? !r.anchor : a.getAttribute('href') === `#${r.anchor}`));
  if (r.page === 'job') jobPage.show(r.job, r.params);
  else jobPage.hide();
  if (r.page === 'run') runPage.show(r.job, r.runId);
  else runPage.hide();
  if (r.page === 'overview') {
    charts.resize();
    if (r.anchor) document.getElementById(r.anchor)?.scrollIntoView();
    else if (shown !== key) window.scrollTo(0, 0);
    document.title = 'Drover dashboard';
  } else {
    if (shown !== key) window.scrollTo(0, 0);
    document.title = r.page === 'job' ? `${r.job} · Drover` : `${r.runId} · Drover`;
  }
  if (r.page === 'job') jobPage.resize();
  if (shown !== key) patchChildren(byId('search-result'), []);
  shown = key;
}
window.addEventListener('hashchange', route);

byId('time-zone').textContent = `times in ${TIME_ZONE}`;
route();
subscribe(onEvent, onStatus);
void tree.open('/');
