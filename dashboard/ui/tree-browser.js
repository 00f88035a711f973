// The znode browser: a path, its children (click to descend), its data,
// Stat and ACL. Read on demand from /api/znodes.
import { api } from './api.js';
import { h, byId, replaceChildren, formatTime } from './dom.js';

function parentOf(path) {
  if (path === '/') return null;
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

function join(path, name) {
  return path === '/' ? `/${name}` : `${path}/${name}`;
}

export function createTreeBrowser() {
  const input = byId('znode-path');
  async function open(path) {
    input.value = path;
    try {
      const node = await api('GET', `/api/znodes?path=${encodeURIComponent(path)}`);
      byId('znode-root').textContent = `namespace ${node.root}`;
      const up = parentOf(path);
      const items = node.children.map((name) => h('li', {}, h('a', { href: '#znodes', dataset: { znode: join(path, name) }, onclick: (e) => (e.preventDefault(), open(join(path, name))) }, name)));
      if (up) items.unshift(h('li', {}, h('a', { href: '#znodes', class: 'up', onclick: (e) => (e.preventDefault(), open(up)) }, '..')));
      replaceChildren(byId('znode-children'), items.length ? items : [h('li', { class: 'muted' }, 'no children')]);
      let text = node.data.text ?? `base64: ${node.data.base64}`;
      try {
        if (node.data.text) text = JSON.stringify(JSON.parse(node.data.text), null, 2);
      } catch {
        // not JSON: show as is
      }
      byId('znode-data').textContent = `${text}${node.data.truncated ? '\n… (truncated)' : ''}` || '(empty)';
      const times = new Set(['ctime', 'mtime']);
      replaceChildren(
        byId('znode-stat'),
        Object.entries(node.stat).map(([k, v]) => h('tr', {}, h('th', {}, k), h('td', { class: 'mono' }, times.has(k) ? `${v} (${formatTime(v)})` : /zxid/.test(k) ? `0x${Number(v).toString(16)}` : String(v)))),
      );
      replaceChildren(byId('znode-acl'), node.acl.map((a) => h('tr', {}, h('th', {}, `${a.scheme}:${a.id}`), h('td', { class: 'mono' }, a.perms))));
    } catch (err) {
      byId('znode-data').textContent = `cannot read ${path}: ${err.message}`;
      replaceChildren(byId('znode-stat'), []);
      replaceChildren(byId('znode-acl'), []);
    }
  }
  byId('znode-form').addEventListener('submit', (e) => {
    e.preventDefault();
    void open(input.value.trim() || '/');
  });
  return { open };
}
