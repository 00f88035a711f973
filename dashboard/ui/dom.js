// Building DOM from data. Every string goes in as a text node (textContent),
// never as HTML, so names, payloads and messages from the cluster cannot
// inject markup or script.

/** h('td', { class: 'x', dataset: { run: id } }, 'text', childNode) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key === 'style') Object.assign(el.style, value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function replaceChildren(el, children) {
  el.replaceChildren(...children);
}

export function byId(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`no element #${id}`);
  return el;
}

export function formatTime(ms) {
  if (ms === undefined || ms === null) return '—';
  const d = new Date(ms);
  return d.toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, 'Z');
}

export function formatAgo(ms, now = Date.now()) {
  if (ms === undefined || ms === null) return '—';
  const s = Math.round((now - ms) / 1000);
  if (s < 0) return `in ${formatDuration(-s * 1000)}`;
  return `${formatDuration(s * 1000)} ago`;
}

export function formatDuration(ms) {
  if (ms === undefined || ms === null || !Number.isFinite(ms)) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${Math.round(s % 60)}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}

export function empty(columns, text) {
  return h('tr', { class: 'empty' }, h('td', { colspan: columns }, text));
}
