/** The CLI's pure formatting: tables and the --wait progress line. */
import { describe, expect, it } from 'vitest';
import { formatTable } from '../../bin/cli-table.ts';
import { progressBar, progressLine } from '../../bin/progress-bar.ts';

describe('cli formatting', () => {
  it('pads table columns to the widest cell', () => {
    expect(formatTable(['job', 'n'], [['resize', 12], ['a', undefined]])).toBe('job     n\n------  --\nresize  12\na\n');
  });

  it('draws a bar on a terminal and a plain line elsewhere', () => {
    expect(progressBar({ state: 'active', attempt: 2, pct: 50, message: 'half' }, 10)).toBe('█████░░░░░  50% active (attempt 2) · half');
    expect(progressBar({ state: 'succeeded', pct: 40 }, 4)).toBe('████ 100% succeeded');
    expect(progressBar({ state: 'queued', pct: 250 }, 4)).toBe('████ 100% queued');
    expect(progressLine({ state: 'active', attempt: 1, pct: 33.4, message: 'step 1' })).toBe('active attempt=1 progress=33% step 1');
    expect(progressLine({ state: 'queued' })).toBe('queued');
  });
});
