import { describe, it, expect } from 'vitest';
import { validatePath, parentOf } from '../../../coordinator/tree/path.ts';

const bad = (p: string, seq = false): boolean => {
  try {
    validatePath(p, seq);
    return false;
  } catch {
    return true;
  }
};

describe('path rules', () => {
  it('accepts what ZooKeeper accepts and rejects the rest', () => {
    for (const p of ['/', '/a', '/a/b', '/a.b', '/...', '/a-b_c', '/é', '/a b']) expect(bad(p), p).toBe(false);
    for (const p of ['', 'a', '/a/', '//', '/a//b', '/.', '/..', '/a/.', '/a/../b', '/\u0000', '/\u001f', '/\u007f', '/\u009f', '/\ud800', '/\uf8ff', '/\ufff0']) expect(bad(p), JSON.stringify(p)).toBe(true);
    expect(bad('/q/', true)).toBe(false);
    expect(bad('/q//', true)).toBe(true);
  });

  it('finds parents', () => {
    expect(parentOf('/a')).toBe('/');
    expect(parentOf('/a/b')).toBe('/a');
    expect(parentOf('/q/')).toBe('/q');
  });
});
