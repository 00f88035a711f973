// One render function per section of the overview, each from the section's
// JSON as the API sends it. Strings from the cluster go through h() only;
// sections are patched in place (rows keyed by data-key), never rebuilt.
import { h, byId, patchChildren, formatTime, formatAgo, formatDuration, empty } from './dom.js';
import { jobHref, runHref } from './router.js';

const FINISHED = new Set(['succeeded', 'failed', 'dead', 'cancelled']);

export function renderEnsemble(members) {
  const cards = members.map((m) => {
    const s = m.stats ?? {};
    const rows = [
      ['zxid', s.zxid ?? '—'],
      ['connections', s.connections ?? '—'],
      ['latency min/avg/max', s.latency ? `${s.latency.min}/${s.latency.avg}/${s.latency.max} ms` : '—'],
      ['znodes', s.nodeCount ?? '—'],
      ['watches', s.watchCount ?? '—'],
      ['outstanding', s.outstanding ?? '—'],
      ['probe', m.probeMs !== undefined ? `${m.probeMs} ms` : '—'],
    ];
    return h(
      'div',
      { class: `member ${m.up ? s.mode : 'down'}`, dataset: { key: `${m.host}:${m.port}`, member: `${m.host}:${m.port}`, mode: m.up ? s.mode : 'down' } },
      h('div', { class: 'member-head' }, h('span', { class: 'member-addr' }, `${m.host}:${m.port}`), h('span', { class: `badge mode-${m.up ? s.mode : 'down'}` }, m.up ? s.mode : 'down')),
      m.up ? h('dl', {}, rows.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, String(v))])) : h('div', { class: 'muted' }, m.error ?? 'not answering'),
    );
  });
  patchChildren(byId('ensemble'), cards.length ? cards : [h('div', { class: 'muted' }, 'no members probed yet')]);
}

export function renderWorkers(workers) {
  const rows = workers.map((w) =>
    h(
      'tr',
      { dataset: { key: w.name, worker: w.name } },
      h('td', { class: 'mono' }, w.name, w.draining ? h('span', { class: 'badge warn' }, 'draining') : null),
      h('td', {}, w.host ?? '—'),
      h('td', { class: 'num' }, w.pid ?? '—'),
      h('td', { class: 'jobs' }, w.jobs.join(', ')),
      h('td', {}, loadBar(w)),
      h('td', { class: 'mono small' }, w.running.map((r) => `${r.job}/${r.runId}`).join('\n') || '—'),
    ),
  );
  patchChildren(byId('workers'), rows.length ? rows : [empty(6, 'no workers registered')]);
}

function loadBar(w) {
  const pct = Math.round(w.load * 100);
  return h('div', { class: 'meter', title: `${w.running.length} of ${w.capacity ?? '?'} slots` }, h('div', { class: 'meter-fill', style: { width: `${Math.min(100, pct)}%` } }), h('span', {}, `${w.running.length}/${w.capacity ?? '?'}`));
}

export function renderQueues(queues, actions) {
  const rows = queues.map((q) =>
    h(
      'tr',
      { dataset: { key: q.job, queue: q.job } },
      h('td', {}, h('a', { href: jobHref(q.job), class: 'job-link', title: 'runs by state, stats and bulk actions' }, q.job), q.paused ? h('span', { class: 'badge warn' }, 'paused') : null, q.spec?.schedule ? h('span', { class: 'badge' }, 'cron') : null),
      h('td', { class: 'num' }, q.depth),
      h('td', { class: 'num' }, q.inflight),
      h('td', { class: 'num' }, q.delayed),
      // Finished runs by final state, as history keeps them (each an O(1) count); failures stand out.
      h('td', { class: 'num', dataset: { count: 'succeeded' } }, q.succeeded ?? 0),
      h('td', { class: q.failed > 0 ? 'num bad' : 'num', dataset: { count: 'failed' } }, q.failed ?? 0),
      h('td', { class: 'num', dataset: { count: 'cancelled' } }, q.cancelled ?? 0),
      h('td', { class: q.dead > 0 ? 'num bad' : 'num', dataset: { count: 'dead' } }, q.dead),
      h('td', { class: 'num small', title: 'enqueued / finished per minute, last minute' }, `${q.enqueuedPerMin ?? 0} / ${q.finishedPerMin ?? 0}`),
      h('td', {}, h('button', { class: 'small', dataset: { action: q.paused ? 'resume' : 'pause', job: q.job }, onclick: () => (q.paused ? actions.resume(q.job) : actions.pause(q.job)) }, q.paused ? 'resume' : 'pause')),
    ),
  );
  patchChildren(byId('queues'), rows.length ? rows : [empty(10, 'no jobs defined yet: start a worker with --jobs')]);
  for (const id of ['enqueue-job', 'runs-job']) {
    const select = byId(id);
    const selected = select.value;
    const options = queues.filter((q) => q.spec).map((q) => h('option', { value: q.job }, q.job));
    if (id === 'runs-job') options.unshift(h('option', { value: '' }, 'all'));
    patchChildren(select, options);
    if ([...select.options].some((o) => o.value === selected)) select.value = selected;
  }
}

export function renderRuns(runs, filter, actions, now = Date.now()) {
  const shown = runs.filter((r) => (!filter.job || r.job === filter.job) && (!filter.state || r.state === filter.state)).slice(0, 200);
  const rows = shown.flatMap((r) => {
    const pct = r.state === 'succeeded' ? 100 : Math.round(r.progress?.pct ?? 0);
    const started = r.startedAt;
    const duration = started ? (r.finishedAt ?? now) - started : undefined;
    const canRetry = r.state === 'failed' || r.state === 'dead' || r.state === 'cancelled';
    const canCancel = !FINISHED.has(r.state);
    const main = h(
      'tr',
      { class: `run state-${r.state}`, dataset: { key: `run:${r.job}/${r.id}`, runId: r.id, job: r.job, state: r.state } },
      h(
        'td',
        { class: 'mono' },
        h('a', { href: '#runs', class: 'run-id', title: 'show input, result and logs here', onclick: (e) => (e.preventDefault(), actions.toggle(r.id)) }, r.id),
        ' ',
        h('a', { href: runHref(r.job, r.id), class: 'run-open', title: 'open the run page (attempts, logs, live progress)', 'aria-label': `open run ${r.id}` }, '↗'),
      ),
      h('td', {}, h('a', { href: jobHref(r.job), class: 'job-link' }, r.job), r.partition !== undefined ? h('span', { class: 'badge' }, `p${r.partition}`) : null),
      h('td', {}, h('span', { class: `badge state ${r.state}` }, r.state)),
      h('td', { class: 'num' }, r.maxAttempts ? `${(r.attempt ?? 0) - (r.freeAttempts ?? 0)}/${r.maxAttempts}${r.freeAttempts ? ` +${r.freeAttempts} free` : ''}` : (r.attempt ?? '—')),
      h(
        'td',
        { class: 'progress-col' },
        h('div', { class: 'progress', role: 'progressbar', 'aria-valuenow': pct, 'aria-valuemin': 0, 'aria-valuemax': 100 }, h('div', { class: 'progress-bar', style: { width: `${pct}%` }, dataset: { pct: String(pct) } })),
        h('div', { class: 'progress-msg' }, r.progress?.message ? `${pct}% · ${r.progress.message}` : `${pct}%`),
      ),
      h('td', { class: 'num' }, formatDuration(duration)),
      h('td', { class: 'mono small' }, r.worker ?? '—'),
      h('td', { class: 'error' }, r.error ? `${r.error.code ?? ''} ${r.error.message ?? ''}`.trim() : ''),
      h(
        'td',
        { class: 'actions' },
        canRetry ? h('button', { class: 'small', dataset: { action: 'retry' }, onclick: () => actions.retry(r.job, r.id) }, 'retry') : null,
        canCancel ? h('button', { class: 'small danger', dataset: { action: 'cancel' }, onclick: () => actions.cancel(r.job, r.id) }, 'cancel') : null,
      ),
    );
    const open = filter.expanded?.has(r.id);
    const lines = (r.logs ?? []).slice(open ? -20 : -3).map((l) => `${formatTime(l.at)} ${l.level ?? ''} ${l.msg ?? ''}`);
    const details = open
      ? [`input:  ${JSON.stringify(r.input ?? null)}`, r.result !== undefined ? `result: ${JSON.stringify(r.result)}` : null, r.enqueuedAt ? `enqueued ${formatTime(r.enqueuedAt)}` : null, `record: ${r.path}`].filter(Boolean)
      : [];
    const extra = details.length || lines.length ? h('tr', { class: 'logs', dataset: { key: `details:${r.job}/${r.id}`, runDetails: r.id } }, h('td', { colspan: 9 }, h('pre', {}, [...details, ...lines].join('\n')))) : null;
    return extra ? [main, extra] : [main];
  });
  patchChildren(byId('runs-body'), rows.length ? rows : [empty(9, 'no runs yet')]);
}

export function renderSchedules(schedules, now = Date.now()) {
  const rows = schedules.map((s) =>
    h(
      'tr',
      { dataset: { key: s.job, schedule: s.job } },
      h('td', {}, s.job),
      h('td', { class: 'mono' }, s.cron ?? '—'),
      h('td', {}, s.timezone),
      h('td', {}, s.misfire ?? '—'),
      h('td', {}, s.lastFireTime ? `${formatTime(s.lastFireTime)} (${formatAgo(s.lastFireTime, now)})` : 'never'),
      h('td', { class: 'mono small' }, s.error ? h('span', { class: 'error' }, s.error) : s.nextFireTimes.map(formatTime).join('\n')),
    ),
  );
  patchChildren(byId('schedules-body'), rows.length ? rows : [empty(6, 'no scheduled jobs')]);
}

const PALETTE = ['#4f8cff', '#2bb673', '#f5a623', '#e5533d', '#9b59b6', '#1abc9c', '#e67e22', '#34495e'];

function colorOf(worker, workers) {
  const i = workers.indexOf(worker);
  return i === -1 ? '#888' : PALETTE[i % PALETTE.length];
}

export function renderPartitions(partitions) {
  const blocks = partitions.map((p) => {
    const workers = [...new Set(p.ranges.map((r) => r.worker).concat(p.owners.map((o) => o.worker).filter(Boolean)))].sort();
    const total = p.partitions ?? Math.max(0, ...p.owners.map((o) => o.partition + 1), ...p.ranges.map((r) => r.to));
    const owners = new Map(p.owners.map((o) => [o.partition, o]));
    const cells = [];
    for (let n = 0; n < total; n++) {
      const owner = owners.get(n);
      cells.push(
        h(
          'div',
          { class: `cell ${owner?.worker ? '' : 'unowned'}`, dataset: { partition: String(n), worker: owner?.worker ?? '' }, title: `partition ${n}: ${owner?.worker ?? 'unowned'}`, style: { background: owner?.worker ? colorOf(owner.worker, workers) : '' } },
          String(n),
        ),
      );
    }
    const legend = workers.map((w) => h('span', { class: 'legend' }, h('i', { style: { background: colorOf(w, workers) } }), w));
    // Members by name -> their worker, for moves written in member names.
    const memberWorker = new Map(p.members.map((m) => [m.name, m.worker]).concat(p.ranges.map((r) => [r.member, r.worker])));
    const who = (member) => (member ? (memberWorker.get(member) ?? member) : '—');
    const timeline = p.timeline.slice(-8).reverse().map((t) => {
      const e = t.entry && typeof t.entry === 'object' ? t.entry : {};
      const moves = Array.isArray(e.moves) ? e.moves.map((m) => `p${m.partition} ${who(m.from)} → ${who(m.to)}`).join(', ') : '';
      const ranges = Array.isArray(e.ranges) ? e.ranges.map((r) => `${r.worker}:[${r.from},${r.to})`).join(' ') : '';
      const text = typeof t.entry === 'string' ? t.entry : `gen ${e.generation ?? '?'} · ${e.reason ?? ''}${moves ? ` · ${moves}` : ranges ? ` · ${ranges}` : ''}`;
      return h('li', {}, h('span', { class: 'muted' }, e.at ? formatTime(e.at) : t.name), ' ', text);
    });
    return h(
      'div',
      { class: 'partition-job', dataset: { key: p.job, partitionJob: p.job } },
      h('h3', {}, p.job, h('small', {}, ` generation ${p.generation ?? '—'} · ${p.members.length} members${p.reason ? ` · ${p.reason}` : ''}`)),
      h('div', { class: 'owner-map' }, cells),
      h('div', { class: 'legends' }, legend),
      h('h4', {}, 'Rebalance timeline'),
      h('ul', { class: 'timeline' }, timeline.length ? timeline : [h('li', { class: 'muted' }, 'no rebalances yet')]),
    );
  });
  patchChildren(byId('partitions-body'), blocks.length ? blocks : [h('div', { class: 'muted' }, 'no partitioned jobs')]);
}

const BARRIER_ROWS_MAX = 30;

export function renderBarriers(barriers) {
  // Groups still gathering or running first; finished groups after them, bounded.
  const done = (b) => b.released && b.size !== undefined && b.left !== undefined && b.left >= b.size;
  const sorted = [...barriers.filter((b) => !done(b)), ...barriers.filter(done)];
  const shown = sorted.slice(0, BARRIER_ROWS_MAX);
  const rows = shown.map((b) =>
    h(
      'tr',
      { dataset: { key: b.group, barrier: b.group } },
      h('td', { class: 'mono' }, b.group),
      h('td', { class: 'num' }, b.size ?? '—'),
      h('td', { class: 'num' }, b.arrived ?? '—'),
      h('td', { class: 'num' }, b.left ?? '—'),
      h('td', {}, b.released === undefined ? '—' : b.released ? 'yes' : 'no'),
      h('td', { class: 'mono small' }, b.nodes.map((n) => (n.children ? `${n.name} (${n.children})` : n.name)).join(', ') || '—'),
    ),
  );
  if (sorted.length > shown.length) rows.push(empty(6, `and ${sorted.length - shown.length} more finished groups`));
  patchChildren(byId('barriers-body'), rows.length ? rows : [empty(6, 'no barriers')]);
}

export function renderScheduler(scheduler) {
  byId('scheduler-leader').textContent = scheduler.leader ? `scheduler: ${scheduler.leader}` : scheduler.candidates.length ? `${scheduler.candidates.length} scheduler candidates` : '';
}
