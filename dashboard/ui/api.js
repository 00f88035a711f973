// The JSON API and the SSE feed. Mutations carry the dashboard token when
// the server asks for one (401): it is asked once and kept for the tab.

const TOKEN_KEY = 'drover-dashboard-token';

async function request(method, url, body) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await res.json().catch(() => ({}));
  return { res, data };
}

export async function api(method, url, body) {
  let { res, data } = await request(method, url, body);
  if (res.status === 401) {
    const token = window.prompt('This dashboard needs its token for changes:');
    if (token) {
      sessionStorage.setItem(TOKEN_KEY, token);
      ({ res, data } = await request(method, url, body));
    }
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
  // EventSource reconnects by itself; the snapshot it gets then resets the page.
  source.addEventListener('error', () => onStatus(false));
  return source;
}
