/** CPU a child process has used, for the benches' CPU-per-operation figures. */
import { readFileSync } from 'node:fs';

/** utime + stime of a process in seconds (Linux /proc; 0 elsewhere). */
export function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}
