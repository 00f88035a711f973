/**
 * The definitions this process has seen (defineJob registers each), so an
 * enqueue by name can still run the job's `validate` when the definition is
 * at hand. A plain map: last definition of a name wins.
 */
import type { JobDefinition } from './job-types.ts';

const definitions = new Map<string, JobDefinition<never, unknown>>();

export function registerDefinition(def: JobDefinition<never, unknown>): void {
  definitions.set(def.name, def);
}

export function definitionOf(name: string): JobDefinition<never, unknown> | undefined {
  return definitions.get(name);
}
