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

/**
 * The segments every txn of which is at or below `zxid` (a snapshot holds
 * them): all but the last, whose successor starts at or below `zxid + 1`.
 * Segment i holds only zxids below segment i+1's first. The newest segment
 * never qualifies, since nothing bounds it from above.
 */
export function coveredSegments(segments: readonly SegmentFile[], zxid: number): SegmentFile[] {
  const out: SegmentFile[] = [];
  for (let i = 0; i + 1 < segments.length; i++) {
    if ((segments[i + 1] as SegmentFile).firstZxid <= zxid + 1) out.push(segments[i] as SegmentFile);
  }
  return out;
}
