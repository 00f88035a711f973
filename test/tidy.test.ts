/**
 * House rules that a reviewer would otherwise have to catch: the pure
 * folders of the core never reach for I/O, clocks or randomness, and the
 * core never imports the framework.
 */
import { describe, it, expect } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const PURE = ['protocol', 'tree', 'txn', 'session', 'watch', 'acl', 'config', 'zab'].map((d) => path.join(root, 'coordinator', d));
const BANNED: [RegExp, string][] = [
  [/from 'node:(fs|net|dgram|child_process|worker_threads)/, 'I/O module'],
  [/\bDate\.now\(/, 'Date.now'],
  [/\bnew Date\(\)/, 'new Date()'],
  [/\bMath\.random\(/, 'Math.random'],
  [/\bset(Timeout|Interval|Immediate)\(/, 'timers'],
  [/\bprocess\.env\b/, 'process.env'],
];

function files(dir: string): string[] {
  let out: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = path.join(dir, e);
    if (statSync(p).isDirectory()) out = out.concat(files(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

describe('tidy', () => {
  it('pure folders use no I/O, clocks, timers or randomness', () => {
    const offences: string[] = [];
    for (const f of PURE.flatMap(files)) {
      const text = readFileSync(f, 'utf8');
      for (const [re, what] of BANNED) if (re.test(text)) offences.push(`${path.relative(root, f)}: ${what}`);
    }
    expect(offences).toEqual([]);
  });

  it('the core imports nothing of the framework', () => {
    const offences = files(path.join(root, 'coordinator')).filter((f) =>
      /from '(\.\.\/)+(shared|worker|dashboard)\//.test(readFileSync(f, 'utf8')),
    );
    expect(offences).toEqual([]);
  });

  it('no source file grows past 900 lines', () => {
    const big = ['coordinator', 'shared', 'worker', 'dashboard', 'bin']
      .flatMap((d) => files(path.join(root, d)))
      .filter((f) => readFileSync(f, 'utf8').split('\n').length > 900);
    expect(big).toEqual([]);
  });
});
