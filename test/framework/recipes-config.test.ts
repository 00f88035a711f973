/**
 * The config watcher on both backends: tolerant of a missing node, the
 * initial value and every new one delivered, bad JSON reported as
 * DROVER_CONFIG while the last good value stays, deletion keeps it too.
 */
import { expect, it } from 'vitest';
import { describeOnBackends, nextEvent } from '../helpers/backends.ts';
import { ConfigWatcher } from '../../shared/recipes/config-watcher.ts';
import type { DroverError } from '../../shared/errors.ts';

interface Limits {
  maxJobs: number;
}

function parseLimits(json: unknown): Limits {
  const maxJobs = (json as { maxJobs?: unknown } | null)?.maxJobs;
  if (typeof maxJobs !== 'number') throw new Error('maxJobs must be a number');
  return { maxJobs };
}

/** The first value (the current one included: onValue calls at once) that matches. */
function valueWhere<T>(w: ConfigWatcher<T>, match: (v: T) => boolean): Promise<T> {
  return nextEvent('a matching value', (deliver) => {
    let done = false;
    let off: (() => void) | undefined = undefined;
    off = w.onValue((v) => {
      if (done || !match(v)) return;
      done = true;
      off?.(); // undefined when called during registration; removed just below then
      deliver(v);
    });
    if (done) off();
  });
}

describeOnBackends('recipes: config watcher', (env) => {
  it('starts before the node exists, then delivers each new value; bad values are reported, not applied', async () => {
    const [c, writer] = await Promise.all([env.client(), env.client()]);
    const w = new ConfigWatcher<Limits>(c, '/config/limits', { parse: parseLimits });
    env.defer(() => w.close());
    const values: number[] = [];
    w.onValue((v) => values.push(v.maxJobs));
    expect(await w.start()).toBeUndefined();

    let v = valueWhere(w, (x) => x.maxJobs === 5);
    await writer.ensurePath('/config');
    await writer.create('/config/limits', Buffer.from(JSON.stringify({ maxJobs: 5 })));
    expect((await v).maxJobs).toBe(5);

    v = valueWhere(w, (x) => x.maxJobs === 7);
    await writer.set('/config/limits', Buffer.from(JSON.stringify({ maxJobs: 7 })));
    expect((await v).maxJobs).toBe(7);

    const bad = nextEvent<DroverError>('error', (d) => { w.onError(d); });
    await writer.set('/config/limits', Buffer.from('{"maxJobs": "lots"}'));
    expect((await bad).code).toBe('DROVER_CONFIG');
    expect(w.value).toEqual({ maxJobs: 7 });

    const notJson = nextEvent<DroverError>('error', (d) => { w.onError(d); });
    await writer.set('/config/limits', Buffer.from('not json'));
    expect((await notJson).code).toBe('DROVER_CONFIG');

    v = valueWhere(w, (x) => x.maxJobs === 9);
    await writer.set('/config/limits', Buffer.from(JSON.stringify({ maxJobs: 9 })));
    expect((await v).maxJobs).toBe(9);
    expect(values).toEqual([5, 7, 9]);
  });

  it('delivers the initial value at start and to late listeners; a deletion keeps the last value', async () => {
    const c = await env.client();
    await c.create('/settings', Buffer.from(JSON.stringify({ mode: 'fast' })));
    const w = new ConfigWatcher(c, '/settings');
    env.defer(() => w.close());
    expect(await w.start()).toEqual({ mode: 'fast' });
    const late: unknown[] = [];
    w.onValue((v) => late.push(v));
    expect(late).toEqual([{ mode: 'fast' }]);
    await c.delete('/settings');
    const v = valueWhere(w, (x) => (x as { mode: string }).mode === 'slow');
    expect(w.value).toEqual({ mode: 'fast' });
    await c.create('/settings', Buffer.from(JSON.stringify({ mode: 'slow' })));
    expect(await v).toEqual({ mode: 'slow' });
  });
});
