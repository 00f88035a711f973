// The page: one SSE stream keeps `state` current; each section re-renders
// when its part of the state changes.
import { api, subscribe } from './api.js';
import { byId } from './dom.js';
import { createCharts } from './charts.js';
import { createTreeBrowser } from './tree-browser.js';
import * as views from './views.js';

const state = { workers: [], queues: [], runs: [], schedules: [], partitions: [], barriers: [], scheduler: { candidates: [] }, ensemble: [], metrics: [] };
const filter = { job: '', state: '', expanded: new Set() };
const charts = createCharts();
const tree = createTreeBrowser();

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
function refreshStateRuns() {
  if (!filter.state || stateReading) return;
  stateReading = new Promise((resolve) => setTimeout(resolve, 1000)).then(loadStateRuns).finally(() => {
    stateReading = null;
  });
}

const render = {
  workers: () => views.renderWorkers(state.workers),
  queues: () => views.renderQueues(state.queues, actions),
  runs: () => views.renderRuns(stateRuns ?? state.runs, filter, actions),
  schedules: () => views.renderSchedules(state.schedules),
  partitions: () => views.renderPartitions(state.partitions),
  barriers: () => views.renderBarriers(state.barriers),
  scheduler: () => views.renderScheduler(state.scheduler),
  ensemble: () => views.renderEnsemble(state.ensemble),
};

function onEvent(section, data) {
  if (section === 'snapshot') {
    Object.assign(state, data);
    for (const r of Object.values(render)) r();
    charts.reset(state.metrics);
    return;
  }
  if (section === 'metrics') {
    state.metrics.push(data);
    charts.add(data);
    return;
  }
  state[section] = data;
  if (section === 'runs') refreshStateRuns();
  render[section]?.();
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

// Durations of active runs grow with the clock.
setInterval(() => render.runs(), 1000);

subscribe(onEvent, onStatus);
void tree.open('/');
