/** A MirrorView built from { path: data } for the dashboard model's pure tests (children derived from the paths). */
import type { MirrorNode, MirrorView } from '../../dashboard/model/mirror-view.ts';

export function mirrorTree(nodes: Record<string, unknown>): MirrorView {
  const map = new Map<string, MirrorNode>();
  const ensure = (path: string): MirrorNode => {
    let n = map.get(path);
    if (!n) {
      n = { data: null, stat: null, children: [] };
      map.set(path, n);
      if (path !== '/') {
        const parent = path.slice(0, path.lastIndexOf('/')) || '/';
        ensure(parent).children.push(path.slice(path.lastIndexOf('/') + 1));
      }
    }
    return n;
  };
  for (const [path, data] of Object.entries(nodes)) {
    ensure(path).data = data === undefined ? null : Buffer.from(typeof data === 'string' ? data : JSON.stringify(data));
  }
  return { get: (p) => map.get(p) };
}
