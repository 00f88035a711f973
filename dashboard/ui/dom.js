// Building DOM from data. Every string goes in as a text node (textContent),
// never as HTML, so names, payloads and messages from the cluster cannot
// inject markup or script.
//
// Live views are patched in place (patchChildren): rows are matched by their
// data-key, cells and text nodes are updated only where they changed, so a
// text selection, focus and the scroll position survive updates.

// Handlers are kept on the element and called through one listener per event
// type, so a patch can hand an element its new closure without rebinding.
const HANDLERS = Symbol('handlers');

function setHandler(el, type, fn) {
  let handlers = el[HANDLERS];
  if (!handlers) {
    handlers = el[HANDLERS] = {};
  }
  if (!(type in handlers)) el.addEventListener(type, (e) => el[HANDLERS][type]?.(e));
  handlers[type] = fn;
}

/** h('td', { class: 'x', dataset: { run: id } }, 'text', childNode) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'dataset') {
      for (const [k, v] of Object.entries(value)) if (v !== undefined && v !== null) el.dataset[k] = String(v);
    } else if (key === 'style') Object.assign(el.style, value);
    else if (key.startsWith('on') && typeof value === 'function') setHandler(el, key.slice(2), value);
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

function keyOf(node) {
  return node.nodeType === Node.ELEMENT_NODE ? node.getAttribute('data-key') : null;
}

/** Make `from` look like `to`, touching only what differs; returns the node now in the tree. */
export function morph(from, to) {
  if (from.nodeType !== to.nodeType || from.nodeName !== to.nodeName || keyOf(from) !== keyOf(to)) {
    from.replaceWith(to);
    return to;
  }
  if (from.nodeType === Node.TEXT_NODE) {
    if (from.data !== to.data) from.data = to.data;
    return from;
  }
  if (from.nodeType !== Node.ELEMENT_NODE) {
    from.replaceWith(to);
    return to;
  }
  for (const a of [...from.attributes]) if (!to.hasAttribute(a.name)) from.removeAttribute(a.name);
  for (const a of to.attributes) if (from.getAttribute(a.name) !== a.value) from.setAttribute(a.name, a.value);
  const handlers = to[HANDLERS];
  if (handlers) for (const [type, fn] of Object.entries(handlers)) setHandler(from, type, fn);
  if (from[HANDLERS]) for (const type of Object.keys(from[HANDLERS])) if (!handlers || !(type in handlers)) from[HANDLERS][type] = undefined;
  patchChildren(from, [...to.childNodes]);
  return from;
}

/**
 * Set `parent`'s children to `children` in place: a child with a data-key
 * is matched to the old child with the same key, others by position; matched
 * children are morphed, never re-created, and are moved only when the order
 * changed; the rest are inserted or removed.
 */
export function patchChildren(parent, children) {
  const next = children.flat().filter((c) => c !== undefined && c !== null && c !== false).map((c) => (c instanceof Node ? c : document.createTextNode(String(c))));
  const wanted = new Set(next.map(keyOf).filter((k) => k !== null));
  const keyed = new Map();
  for (const c of parent.childNodes) {
    const k = keyOf(c);
    if (k !== null && !keyed.has(k)) keyed.set(k, c);
  }
  const used = new Set();
  let ref = parent.firstChild;
  for (const node of next) {
    // Old keyed children that are gone go first, so the ones after them need not move.
    while (ref && keyOf(ref) !== null && !wanted.has(keyOf(ref))) {
      const gone = ref;
      ref = ref.nextSibling;
      gone.remove();
    }
    const k = keyOf(node);
    let match = null;
    if (k !== null) {
      const old = keyed.get(k);
      if (old && !used.has(old)) match = old;
    } else if (ref && keyOf(ref) === null && ref.nodeName === node.nodeName) {
      match = ref;
    }
    if (!match) {
      parent.insertBefore(node, ref);
      continue;
    }
    used.add(match);
    if (match === ref) ref = ref.nextSibling;
    else parent.insertBefore(match, ref);
    morph(match, node);
  }
  while (ref) {
    const gone = ref;
    ref = ref.nextSibling;
    gone.remove();
  }
}

export function byId(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`no element #${id}`);
  return el;
}

/** The viewer's time zone (times are shown in it; the header names it once). */
export const TIME_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone || 'local time';

export function formatTime(ms) {
  if (ms === undefined || ms === null || !Number.isFinite(Number(ms))) return '—';
  return new Date(Number(ms)).toLocaleString();
}

/** JSON for a <pre>: pretty, and never throws. */
export function prettyJson(value) {
  if (value === undefined) return '—';
  try {
    return JSON.stringify(value, null, 2);
  } catch {
    return String(value);
  }
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
