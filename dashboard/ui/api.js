// The JSON API and the SSE feed. A dashboard with a token answers 401 to
// everything until the page has it: it is asked once, kept for the tab and
// sent on every fetch, and traded for a session cookie (POST /api/session)
// that lets EventSource, which cannot send a header, open the feed.

const TOKEN_KEY = 'drover-dashboard-token';

async function request(method, url, body) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await res.json().catch(() => ({}));
  return { res, data, token };
}

// The page's first reads fail together: one prompt serves them all.
let signingIn;
function signIn() {
  signingIn ??= (async () => {
    const token = window.prompt('This dashboard needs its token:');
    if (!token) return false;
    sessionStorage.setItem(TOKEN_KEY, token);
    const { res } = await request('POST', '/api/session');
    if (!res.ok) sessionStorage.removeItem(TOKEN_KEY);
    return res.ok;
  })().finally(() => {
    signingIn = undefined;
  });
  return signingIn;
}

export async function api(method, url, body) {
  let { res, data, token } = await request(method, url, body);
  // Retry at once if another call signed in meanwhile; otherwise ask.
  if (res.status === 401 && (sessionStorage.getItem(TOKEN_KEY) !== token || (await signIn()))) {
    ({ res, data } = await request(method, url, body));
  }
  if (!res.ok) {
    const err = new Error(data?.error?.message ?? `${res.status} ${res.statusText}`);
    err.code = data?.error?.code;
    throw err;
  }
  return data;
}

/** Calls onEvent(section, data) for the snapshot and every change; onStatus(live: boolean). */
export function subscribe(onEvent, onStatus) {
  const source = new EventSource('/api/events');
  const sections = ['snapshot', 'workers', 'queues', 'runs', 'schedules', 'partitions', 'barriers', 'scheduler', 'ensemble', 'metrics'];
  for (const section of sections) {
    source.addEventListener(section, (e) => onEvent(section, JSON.parse(e.data)));
  }
  source.addEventListener('open', () => onStatus(true));
  // EventSource reconnects by itself after a network error; the snapshot it
  // gets then resets the page. A refused stream (401: no session yet, or it
  // expired, or the server restarted) it gives up on: sign in, then reopen.
  source.addEventListener('error', () => {
    onStatus(false);
    if (source.readyState !== EventSource.CLOSED) return;
    api('POST', '/api/session').then(
      () => setTimeout(() => subscribe(onEvent, onStatus), 1000),
      () => {}, // no token given: stay "reconnecting…" until the page is reloaded
    );
  });
  return source;
}
