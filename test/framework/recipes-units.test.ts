/**
 * The recipes' pure parts, without a server: ordering of sequential names,
 * the lock blocker rules, the coalescing runner and the abortable wait.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { sortSequential, childPath, baseName } from '../../shared/recipes/sequential-nodes.ts';
import { SerialRunner } from '../../shared/recipes/serial-runner.ts';
import { abortableWait } from '../../shared/recipes/abortable-wait.ts';
import { isDroverError } from '../../shared/errors.ts';
import { pad } from '../../shared/jobs/layout.ts';
import { readerBlocker, writerBlocker } from '../../shared/recipes/read-write-lock.ts';

describe('recipes: pure helpers', () => {
  it('sortSequential keeps exactly the prefixed sequential names, lowest sequence first, across prefixes', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 2_000_000_000 }), { maxLength: 30 }),
        fc.array(fc.constantFrom('read-', 'write-', 'other-')),
        fc.array(fc.constantFrom('state', 'ready', 'read-12', 'write-x000000001')),
        (seqs, prefixes, junk) => {
          const names = seqs.map((s, i) => `${prefixes[i % Math.max(1, prefixes.length)] ?? 'read-'}${pad(s, 10)}`);
          const out = sortSequential([...junk, ...names], ['read-', 'write-']);
          const expected = names.filter((n) => !n.startsWith('other-'));
          expect(out.map((n) => n.name).sort()).toEqual(expected.sort());
          for (let i = 1; i < out.length; i++) expect(out[i - 1]!.seq).toBeLessThan(out[i]!.seq);
          for (const n of out) expect(n.name.startsWith(n.prefix)).toBe(true);
        },
      ),
    );
  });

  it('read/write blocker rules: readers wait only for the nearest writer ahead, writers for their predecessor', () => {
    const q = sortSequential(['read-0000000001', 'write-0000000002', 'read-0000000003', 'read-0000000004', 'write-0000000005', 'read-0000000006'], ['read-', 'write-']);
    const name = (i: number, rule: typeof readerBlocker): string | undefined => rule(q, i)?.name;
    expect(name(0, readerBlocker)).toBeUndefined();
    expect(name(2, readerBlocker)).toBe('write-0000000002');
    expect(name(3, readerBlocker)).toBe('write-0000000002');
    expect(name(5, readerBlocker)).toBe('write-0000000005');
    expect(name(1, writerBlocker)).toBe('read-0000000001');
    expect(name(4, writerBlocker)).toBe('read-0000000004');
    expect(name(0, writerBlocker)).toBeUndefined();
  });

  it('paths: childPath and baseName', () => {
    expect(childPath('/', 'a')).toBe('/a');
    expect(childPath('/a', 'b')).toBe('/a/b');
    expect(baseName('/a/b/c-0000000001')).toBe('c-0000000001');
  });

  it('SerialRunner never overlaps passes and coalesces triggers into one more pass', async () => {
    let running = 0;
    let passes = 0;
    let release: (() => void) | undefined;
    const runner = new SerialRunner(
      async () => {
        running++;
        expect(running).toBe(1);
        passes++;
        if (passes === 1) await new Promise<void>((r) => (release = r));
        running--;
      },
      (err) => {
        throw err;
      },
    );
    runner.trigger();
    const later = runner.run();
    runner.trigger();
    runner.trigger();
    expect(passes).toBe(1);
    release?.();
    await later;
    expect(passes).toBe(2);
  });

  it('abortableWait: resolves, times out with DROVER_WAIT_TIMEOUT, aborts with DROVER_CANCELLED, and always disarms', async () => {
    let disarmed = 0;
    await abortableWait('x', {}, ({ resolve }) => {
      resolve();
      return () => disarmed++;
    });
    const timedOut = await abortableWait('x', { timeoutMs: 10 }, () => () => disarmed++).catch((e: unknown) => e);
    expect(isDroverError(timedOut, 'DROVER_WAIT_TIMEOUT')).toBe(true);
    const ac = new AbortController();
    const aborted = abortableWait('x', { signal: ac.signal }, () => () => disarmed++).catch((e: unknown) => e);
    ac.abort();
    expect(isDroverError(await aborted, 'DROVER_CANCELLED')).toBe(true);
    expect(disarmed).toBe(3);
  });
});
