/**
 * word-count — map-reduce behind a barrier: a text is split into N parts;
 * N `word-count-map` runs form one run group that starts only when all N
 * have arrived (so they start together), and exactly one
 * `word-count-reduce` run is enqueued when all of them have finished.
 * Maps write their partial counts to shared storage (a directory here;
 * object storage in production), the reduce merges them.
 *
 *   drover worker --jobs examples/word-count.ts
 *   # from code: await enqueueWordCount(client, text, { parts: 4 })
 */
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Coordination } from '../shared/client/coordination.ts';
import { defineJob } from '../shared/jobs/define-job.ts';
import { enqueueWith } from '../shared/jobs/enqueue.ts';

export interface MapInput {
  group: string;
  part: number;
  text: string;
  /** Where partial counts go (shared by every worker of the group). */
  dir: string;
}

export interface ReduceInput {
  group: string;
  parts: number;
  dir: string;
  /** How many top words to return. */
  top?: number;
}

export interface WordCountResult {
  words: number;
  distinct: number;
  top: [string, number][];
}

export const DEFAULT_DIR = path.join(os.tmpdir(), 'drover-word-count');

export function countWords(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const w of text.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? []) counts.set(w, (counts.get(w) ?? 0) + 1);
  return counts;
}

export const wordCountMap = defineJob<MapInput, { part: number; words: number }>({
  name: 'word-count-map',
  concurrency: 4,
  retries: 2,
  backoff: { type: 'fixed', delayMs: 500 },
  barrier: { size: 4 },
  async run(ctx, input) {
    const counts = countWords(input.text);
    const dir = path.join(input.dir, input.group);
    await mkdir(dir, { recursive: true });
    // Write then rename: a retried map never leaves a half-written part for the reduce.
    const file = path.join(dir, `part-${input.part}.json`);
    const tmp = `${file}.${ctx.attempt}.tmp`;
    await writeFile(tmp, JSON.stringify([...counts]));
    await rename(tmp, file);
    const words = [...counts.values()].reduce((a, b) => a + b, 0);
    ctx.log.info({ group: input.group, part: input.part, words }, 'mapped');
    return { part: input.part, words };
  },
});

export const wordCountReduce = defineJob<ReduceInput, WordCountResult>({
  name: 'word-count-reduce',
  retries: 2,
  async run(ctx, input) {
    const dir = path.join(input.dir, input.group);
    const files = (await readdir(dir)).filter((f) => /^part-\d+\.json$/.test(f));
    if (files.length !== input.parts) throw new Error(`expected ${input.parts} parts in ${dir}, found ${files.length}`);
    const total = new Map<string, number>();
    for (const [i, f] of files.entries()) {
      const part = JSON.parse(await readFile(path.join(dir, f), 'utf8')) as [string, number][];
      for (const [w, n] of part) total.set(w, (total.get(w) ?? 0) + n);
      ctx.progress(Math.round(((i + 1) / files.length) * 100), `merged ${i + 1}/${files.length}`);
    }
    await rm(dir, { recursive: true, force: true });
    const top = [...total.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, input.top ?? 10);
    const words = [...total.values()].reduce((a, b) => a + b, 0);
    ctx.log.info({ group: input.group, words, distinct: total.size }, 'reduced');
    return { words, distinct: total.size, top };
  },
});

/** Splits `text` into `parts` and enqueues the map group with its reduce; resolves to the group id and map run ids. */
export async function enqueueWordCount(
  client: Coordination,
  text: string,
  opts: { parts?: number; group?: string; dir?: string; top?: number } = {},
): Promise<{ group: string; maps: string[] }> {
  const parts = opts.parts ?? 4;
  const group = opts.group ?? `wc-${Date.now().toString(36)}`;
  const dir = opts.dir ?? DEFAULT_DIR;
  const words = text.split(/\s+/);
  const per = Math.ceil(words.length / parts);
  const then = { job: wordCountReduce.name, input: { group, parts, dir, ...(opts.top ? { top: opts.top } : {}) } satisfies ReduceInput };
  const items = Array.from({ length: parts }, (_, part) => ({
    input: { group, part, text: words.slice(part * per, (part + 1) * per).join(' '), dir } satisfies MapInput,
    opts: { group: { id: group, size: parts, then } },
  }));
  const maps = await enqueueWith(client, wordCountMap.name, items);
  return { group, maps };
}

export default [wordCountMap, wordCountReduce];
