// A run's page (#/runs/<job>/<runId>): its record read from the cluster —
// state and times, live progress, input and result as formatted JSON, its
// logs with their fields, and its attempt history (each attempt's worker,
// times, outcome, error class, message and stack, logs), expandable.
// Read again when the live feed shows the run changed, and every second
// while it is not finished; patched in place.
import { api } from './api.js';
import { h, byId, patchChildren, formatTime, formatDuration, prettyJson } from './dom.js';
import { jobHref } from './router.js';
import { confirmAction } from './confirm.js';

const FINISHED = new Set(['succeeded', 'failed', 'dead', 'cancelled']);
const enc = encodeURIComponent;

function message(err) {
  return `${err.code ? `${err.code}: ` : ''}${err.message}`;
}

function logTable(logs, testid) {
  if (!logs?.length) return h('div', { class: 'muted small' }, 'no log lines');
  return h(
    'table',
    { class: 'table logs-table', 'data-testid': testid },
    h('thead', {}, h('tr', {}, h('th', {}, 'at'), h('th', {}, 'level'), h('th', {}, 'message'), h('th', {}, 'fields'))),
    h(
      'tbody',
      {},
      logs.map((l, i) =>
        h(
          'tr',
          { class: `log level-${l.level ?? ''}`, dataset: { key: `${l.at}:${i}` } },
          h('td', { class: 'small nowrap' }, formatTime(l.at)),
          h('td', {}, h('span', { class: `badge level ${l.level ?? ''}` }, l.level ?? '')),
          h('td', { class: 'mono small' }, l.msg ?? ''),
          h('td', {}, l.fields && Object.keys(l.fields).length ? h('pre', { class: 'fields' }, prettyJson(l.fields)) : ''),
        ),
      ),
    ),
  );
}

/** The attempts to show: the record's failed ones, then the current (running or succeeded) attempt, which the record itself holds. */
function attemptsOf(run) {
  const list = Array.isArray(run.attempts) ? [...run.attempts] : [];
  const last = list.length ? list[list.length - 1].attempt : 0;
  if ((run.attempt ?? 0) > last && (run.state === 'active' || run.state === 'succeeded' || run.startedAt)) {
    list.push({ attempt: run.attempt, worker: run.worker, startedAt: run.startedAt, finishedAt: run.state === 'active' ? undefined : run.finishedAt, outcome: run.state, logs: run.logs, current: true });
  }
  return list;
}

export function createRunPage({ toast }) {
  let current = null; // { job, runId }
  let run = null;
  let error = null;
  let seq = 0;
  let lastRead = 0;
  let timer = null;
  let liveSig = '';
  const expanded = new Set();

  async function load() {
    if (!current) return;
    lastRead = Date.now();
    const my = ++seq;
    const { job, runId } = current;
    try {
      const res = await api('GET', `/api/runs/${enc(job)}/${enc(runId)}`);
      if (my !== seq) return;
      run = res.run;
      error = null;
    } catch (err) {
      if (my !== seq) return;
      error = err;
    }
    render();
    schedule();
  }

  /** While the run is not finished, read it every second; else only when the feed says it changed. */
  function schedule(soon = false) {
    if (!current || timer) return;
    if (!soon && run && FINISHED.has(run.state) && !error) return;
    timer = setTimeout(
      () => {
        timer = null;
        void load();
      },
      Math.max(soon ? 0 : 1000, lastRead + 1000 - Date.now()),
    );
  }

  async function act(action, done) {
    const { job, runId } = current;
    try {
      await api('POST', `/api/runs/${enc(job)}/${enc(runId)}/${action}`);
      toast(done, true);
    } catch (err) {
      toast(message(err), false);
    }
    void load();
  }

  async function promote(r) {
    const { ok } = await confirmAction({ title: 'Run now', text: `Run ${r.id} of ${r.job} now instead of at ${formatTime(r.dueAt)}?`, okLabel: 'Run now' });
    if (ok) await act('promote', `promoted ${r.id}: it waits for a worker now`);
  }

  function head(r) {
    const buttons = [];
    if (r && ['failed', 'dead', 'cancelled'].includes(r.state)) buttons.push(h('button', { class: 'small', dataset: { action: 'retry' }, onclick: () => act('retry', `retrying ${r.id}`) }, 'retry'));
    if (r?.state === 'delayed') buttons.push(h('button', { class: 'small', dataset: { action: 'promote' }, onclick: () => promote(r) }, 'run now'));
    if (r && !FINISHED.has(r.state)) buttons.push(h('button', { class: 'small danger', dataset: { action: 'cancel' }, onclick: () => act('cancel', `cancel requested for ${r.id}`) }, 'cancel'));
    return h(
      'div',
      { class: 'page-head', dataset: { key: 'head' } },
      h('a', { href: jobHref(current.job), class: 'back' }, `← ${current.job}`),
      h('h1', { class: 'mono', 'data-testid': 'run-id' }, current.runId),
      r ? h('span', { class: `badge state ${r.state}`, 'data-testid': 'run-state' }, r.state) : null,
      h('div', { class: 'spacer' }),
      buttons,
    );
  }

  function summary(r, now) {
    const duration = r.startedAt ? (r.finishedAt ?? (r.state === 'active' ? now : undefined)) - r.startedAt : undefined;
    const used = (r.attempt ?? 0) - (r.freeAttempts ?? 0);
    const rows = [
      ['job', h('a', { href: jobHref(r.job) }, r.job)],
      // Attempts before a retry (or handed back) do not count against maxAttempts: say so, never "6 of 3".
      ['attempt', r.freeAttempts ? `${r.attempt ?? 0} in all: ${used} of ${r.maxAttempts ?? '?'} counted, ${r.freeAttempts} free (before a retry or handed back)` : `${r.attempt ?? 0} of ${r.maxAttempts ?? '?'}`],
      ['priority', r.priority],
      ['enqueued', formatTime(r.enqueuedAt)],
      r.dueAt ? ['due', formatTime(r.dueAt)] : null,
      ['started', formatTime(r.startedAt)],
      ['finished', formatTime(r.finishedAt)],
      ['duration', formatDuration(duration)],
      ['worker', r.worker ?? '—'],
      r.partition !== undefined ? ['partition', r.partition] : null,
      r.group ? ['barrier group', `${r.group.id} (size ${r.group.size})`] : null,
      r.fireTime ? ['schedule fire time', formatTime(r.fireTime)] : null,
      r.stalls ? ['stalls', r.stalls] : null,
      ['record', r.path ?? '—'],
    ].filter(Boolean);
    return h('table', { class: 'table kv', 'data-testid': 'run-summary', dataset: { key: 'summary' } }, h('tbody', {}, rows.map(([k, v]) => h('tr', { dataset: { key: k } }, h('th', {}, k), h('td', { class: k === 'record' || k === 'worker' ? 'mono' : '' }, v ?? '—')))));
  }

  function progress(r) {
    const pct = r.state === 'succeeded' ? 100 : Math.round(r.progress?.pct ?? 0);
    return h(
      'div',
      { class: `run-progress state-${r.state}`, 'data-testid': 'run-progress', dataset: { key: 'progress', pct: String(pct) } },
      h('div', { class: 'progress', role: 'progressbar', 'aria-valuenow': pct, 'aria-valuemin': 0, 'aria-valuemax': 100 }, h('div', { class: 'progress-bar', style: { width: `${pct}%` }, dataset: { pct: String(pct) } })),
      h('div', { class: 'progress-msg' }, `${pct}%${r.progress?.message ? ` · ${r.progress.message}` : ''}${r.progress?.at ? ` · ${formatTime(r.progress.at)}` : ''}`),
    );
  }

  function attempts(r, now) {
    const list = attemptsOf(r);
    const rows = list.flatMap((a) => {
      const n = a.attempt;
      const open = expanded.has(n);
      const hasMore = Boolean(a.error?.stack || a.logs?.length);
      const finished = a.finishedAt ?? (a.current && r.state === 'active' ? undefined : a.finishedAt);
      const main = h(
        'tr',
        { class: `attempt outcome-${a.outcome}`, dataset: { key: `attempt:${n}`, attempt: String(n), outcome: a.outcome } },
        h('td', { class: 'num' }, String(n), a.free ? h('span', { class: 'badge', title: 'did not count against maxAttempts' }, 'free') : null),
        h('td', {}, h('span', { class: `badge state ${a.outcome}` }, a.outcome)),
        h('td', { class: 'mono small' }, a.worker ?? '—'),
        h('td', { class: 'small' }, formatTime(a.startedAt)),
        h('td', { class: 'small' }, formatTime(finished)),
        h('td', { class: 'num' }, formatDuration(a.startedAt ? (finished ?? now) - a.startedAt : undefined)),
        h('td', { class: 'mono small', 'data-testid': 'attempt-error-class' }, a.error?.name ?? (a.error ? 'Error' : '')),
        h('td', { class: 'mono small' }, a.error?.code ?? ''),
        h('td', { class: 'error', 'data-testid': 'attempt-error-message' }, a.error?.message ?? ''),
        h(
          'td',
          {},
          hasMore
            ? h(
                'button',
                {
                  class: 'small',
                  'aria-expanded': open ? 'true' : 'false',
                  dataset: { action: 'toggle-attempt' },
                  onclick: () => {
                    if (expanded.has(n)) expanded.delete(n);
                    else expanded.add(n);
                    render();
                  },
                },
                open ? 'hide' : a.error?.stack ? 'stack & logs' : 'logs',
              )
            : null,
        ),
      );
      if (!open) return [main];
      const detail = h(
        'tr',
        { class: 'attempt-detail', dataset: { key: `attempt-detail:${n}`, attemptDetail: String(n) } },
        h(
          'td',
          { colspan: 10 },
          a.error?.stack ? [h('h4', {}, 'stack'), h('pre', { class: 'stack', 'data-testid': 'attempt-stack' }, `${a.error.name ?? 'Error'}: ${a.error.message ?? ''}\n${a.error.stack}`)] : null,
          h('h4', {}, 'logs'),
          logTable(a.logs, 'attempt-logs'),
        ),
      );
      return [main, detail];
    });
    return h(
      'article',
      { class: 'card', dataset: { key: 'attempts' } },
      h('h2', {}, 'Attempts', h('small', {}, 'oldest first; the last few kept')),
      h(
        'table',
        { class: 'table', 'data-testid': 'attempts' },
        h('thead', {}, h('tr', {}, ['#', 'outcome', 'worker', 'started', 'finished', 'duration', 'error class', 'code', 'message', ''].map((t) => h('th', {}, t)))),
        h('tbody', {}, rows.length ? rows : [h('tr', { class: 'empty' }, h('td', { colspan: 10 }, 'not started yet'))]),
      ),
    );
  }

  function render(now = Date.now()) {
    if (!current) return;
    const view = byId('run-view');
    if (!run && !error) return patchChildren(view, [h('article', { class: 'card', dataset: { key: 'top' } }, head(null), h('div', { class: 'muted' }, 'loading…'))]);
    if (!run || (error && error.code === 'DROVER_RUN_NOT_FOUND')) {
      const text = error?.code === 'DROVER_RUN_NOT_FOUND' ? `no run ${current.runId} in job ${current.job}` : `cannot read the run: ${message(error)}`;
      return patchChildren(view, [h('article', { class: 'card', dataset: { key: 'top' } }, head(null), h('div', { class: 'result bad', 'data-testid': 'run-missing' }, text))]);
    }
    const r = run;
    patchChildren(view, [
      h(
        'article',
        { class: 'card', dataset: { key: 'top' } },
        head(r),
        error ? h('div', { class: 'result bad', dataset: { key: 'stale' } }, `showing the last read: ${message(error)}`) : null,
        progress(r),
        r.error ? h('div', { class: 'run-error', 'data-testid': 'run-error', dataset: { key: 'error' } }, h('span', { class: 'mono' }, [r.error.name, r.error.code].filter(Boolean).join(' · ')), ' ', r.error.message ?? '') : null,
        summary(r, now),
      ),
      h(
        'div',
        { class: 'grid', dataset: { key: 'io' } },
        h('article', { class: 'card' }, h('h2', {}, 'Input'), h('pre', { class: 'json', 'data-testid': 'run-input' }, prettyJson(r.input ?? null))),
        h('article', { class: 'card' }, h('h2', {}, 'Result'), h('pre', { class: 'json', 'data-testid': 'run-result' }, r.result === undefined ? (FINISHED.has(r.state) ? 'no result' : 'not finished yet') : prettyJson(r.result))),
      ),
      h('article', { class: 'card', dataset: { key: 'logs' } }, h('h2', {}, 'Logs', h('small', {}, `attempt ${r.attempt ?? 0}, the last lines kept`)), logTable(r.logs, 'run-logs')),
      attempts(r, now),
    ]);
  }

  // Durations of a running attempt grow with the clock.
  setInterval(() => {
    if (current && run?.state === 'active') render();
  }, 1000);

  return {
    show(job, runId) {
      if (current?.job === job && current.runId === runId) return;
      current = { job, runId };
      run = null;
      error = null;
      expanded.clear();
      clearTimeout(timer);
      timer = null;
      liveSig = '';
      render();
      void load();
    },
    hide() {
      current = null;
      seq++;
      clearTimeout(timer);
      timer = null;
    },
    /** The live table changed: read the run again if its entry there moved. */
    onLive(section, state) {
      if (!current || (section !== 'runs' && section !== 'snapshot')) return;
      const r = state.runs.find((x) => x.job === current.job && x.id === current.runId);
      const sig = r ? `${r.state}:${r.attempt ?? ''}:${r.progress?.pct ?? ''}:${r.progress?.message ?? ''}:${r.worker ?? ''}:${r.logs?.length ?? 0}` : '';
      if (!r || sig === liveSig) return;
      liveSig = sig;
      schedule(true);
    },
  };
}
