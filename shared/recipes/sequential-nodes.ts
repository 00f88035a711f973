/**
 * Pure helpers over the names of sequential znodes (`<prefix>NNNNNNNNNN`):
 * the recipes order contenders by the 10-digit suffix the server appends,
 * which is shared by every prefix under one parent, so `read-0000000003`
 * comes after `write-0000000002`.
 */
import { sequenceOf } from '../jobs/layout.ts';

export interface SequentialNode {
  /** The child's name (no parent path). */
  name: string;
  /** Its prefix, one of those asked for. */
  prefix: string;
  seq: number;
}

/**
 * The children that carry one of `prefixes` and a sequence suffix, lowest
 * sequence first. Foreign children (e.g. `/scheduler/state`) are ignored.
 */
export function sortSequential(children: readonly string[], prefixes: readonly string[]): SequentialNode[] {
  const out: SequentialNode[] = [];
  for (const name of children) {
    const prefix = prefixes.find((p) => name.startsWith(p) && name.length === p.length + 10);
    if (prefix === undefined) continue;
    const seq = sequenceOf(name);
    if (Number.isNaN(seq)) continue;
    out.push({ name, prefix, seq });
  }
  return out.sort((a, b) => a.seq - b.seq);
}

/** The last segment of a znode path. */
export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** `parent` + '/' + `name`, without doubling the slash at the root. */
export function childPath(parent: string, name: string): string {
  return parent === '/' ? `/${name}` : `${parent}/${name}`;
}
