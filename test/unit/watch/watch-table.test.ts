import { describe, it, expect } from 'vitest';
import { WatchTable } from '../../../coordinator/watch/watch-table.ts';

type Ev = [string, number, string];

function fire(t: WatchTable<string>, events: { type: 1 | 2 | 3 | 4; path: string }[]): Ev[] {
  const out: Ev[] = [];
  t.trigger(events, (w, type, path) => out.push([w, type, path]));
  return out;
}

describe('watch trigger table', () => {
  it('create and data change go to data watches; they are one-shot', () => {
    const t = new WatchTable<string>();
    t.addData('/a', 'c1');
    t.addChild('/a', 'c2');
    expect(fire(t, [{ type: 3, path: '/a' }])).toEqual([['c1', 3, '/a']]);
    expect(fire(t, [{ type: 3, path: '/a' }])).toEqual([]);
    t.addData('/b', 'c1');
    expect(fire(t, [{ type: 1, path: '/b' }])).toEqual([['c1', 1, '/b']]);
  });

  it('delete wakes data and child watches once per watcher', () => {
    const t = new WatchTable<string>();
    t.addData('/a', 'c1');
    t.addChild('/a', 'c1');
    t.addChild('/a', 'c2');
    expect(fire(t, [{ type: 2, path: '/a' }])).toEqual([
      ['c1', 2, '/a'],
      ['c2', 2, '/a'],
    ]);
    expect(t.watchCount).toBe(0);
  });

  it('children changed goes to child watches on the parent only', () => {
    const t = new WatchTable<string>();
    t.addChild('/p', 'c1');
    t.addData('/p', 'c2');
    expect(fire(t, [{ type: 4, path: '/p' }])).toEqual([['c1', 4, '/p']]);
    expect(t.has('/p', 'c2', 2)).toBe(true);
  });

  it('persistent watches stay and see the node and its children list', () => {
    const t = new WatchTable<string>();
    t.addPersistent('/p', 'c1');
    for (const type of [1, 2, 3, 4] as const) expect(fire(t, [{ type, path: '/p' }])).toEqual([['c1', type, '/p']]);
    expect(fire(t, [{ type: 3, path: '/p/x' }])).toEqual([]);
  });

  it('recursive watches see descendants but never children-changed', () => {
    const t = new WatchTable<string>();
    t.addRecursive('/p', 'c1');
    t.addRecursive('/', 'c2');
    expect(fire(t, [{ type: 1, path: '/p/x/y' }])).toEqual([
      ['c1', 1, '/p/x/y'],
      ['c2', 1, '/p/x/y'],
    ]);
    expect(fire(t, [{ type: 4, path: '/p' }])).toEqual([]);
    expect(fire(t, [{ type: 3, path: '/q' }])).toEqual([['c2', 3, '/q']]);
  });

  it('a standard and a persistent watch on one path give one event', () => {
    const t = new WatchTable<string>();
    t.addData('/a', 'c1');
    t.addPersistent('/a', 'c1');
    expect(fire(t, [{ type: 3, path: '/a' }])).toEqual([['c1', 3, '/a']]);
  });

  it('removes by type, by watcher, and answers has()', () => {
    const t = new WatchTable<string>();
    t.addData('/a', 'c1');
    t.addChild('/a', 'c1');
    expect(t.remove('/a', 'c1', 1)).toBe(true);
    expect(t.has('/a', 'c1', 1)).toBe(false);
    expect(t.has('/a', 'c1', 2)).toBe(true);
    t.addRecursive('/r', 'c1');
    t.removeWatcher('c1');
    expect(t.watchCount).toBe(0);
    expect(t.remove('/a', 'c1', 3)).toBe(false);
  });

  it('hands deliver the triggering event itself, extra fields included (the server filters on its ACL)', () => {
    const t = new WatchTable<string>();
    t.addRecursive('/r', 'c1');
    t.addData('/r/x', 'c2');
    const ev = { type: 1 as const, path: '/r/x', acl: 'secret' };
    const seen: [string, typeof ev][] = [];
    t.trigger([ev], (w, _type, _path, e) => seen.push([w, e]));
    expect(seen).toEqual([
      ['c2', ev],
      ['c1', ev],
    ]);
    expect(seen[0]?.[1]).toBe(ev);
  });
});
