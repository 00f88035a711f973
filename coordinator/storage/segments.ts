/** Lists log segments in a directory, oldest first. */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { parseSegmentName } from './record-format.ts';

export interface SegmentFile {
  firstZxid: number;
  file: string;
}

export async function listSegments(dir: string): Promise<SegmentFile[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const out: SegmentFile[] = [];
  for (const n of names) {
    const z = parseSegmentName(n);
    if (z !== null) out.push({ firstZxid: z, file: path.join(dir, n) });
  }
  return out.sort((a, b) => a.firstZxid - b.firstZxid);
}
