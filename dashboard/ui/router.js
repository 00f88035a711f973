// Hash routes: every page has its own URL without the server knowing them.
//   #/ (or #runs, #schedules… : a section of the overview)
//   #/jobs/<job>?tab=<state>&cursor=<cursor>&limit=<n>
//   #/runs/<job>/<runId>

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

export function jobHref(job, params = {}) {
  return `#/jobs/${encodeURIComponent(job)}${query(params)}`;
}

export function runHref(job, runId) {
  return `#/runs/${encodeURIComponent(job)}/${encodeURIComponent(runId)}`;
}

function decode(part) {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/** { page: 'overview', anchor } | { page: 'job', job, params } | { page: 'run', job, runId } */
export function parseHash(hash = window.location.hash) {
  if (!hash.startsWith('#/')) return { page: 'overview', anchor: hash.length > 1 ? decode(hash.slice(1)) : null };
  const body = hash.slice(1);
  const at = body.indexOf('?');
  const path = at === -1 ? body : body.slice(0, at);
  const params = new URLSearchParams(at === -1 ? '' : body.slice(at + 1));
  const parts = path.split('/').filter(Boolean).map(decode);
  if (parts[0] === 'jobs' && parts.length === 2) return { page: 'job', job: parts[1], params };
  if (parts[0] === 'runs' && parts.length === 3) return { page: 'run', job: parts[1], runId: parts[2] };
  return { page: 'overview', anchor: null };
}

export function navigate(href) {
  if (window.location.hash === href) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else window.location.hash = href;
}
