/**
 * Which finished runs are new since the last look, so each finish is
 * observed once. The first look only learns what is already finished (a
 * dashboard restart is not a burst of finishes). Bounded: the oldest keys
 * are forgotten first, and the view they come from only holds the newest
 * finishes, so a forgotten one does not come back. Pure.
 */

export class FinishTracker<T extends { key: string }> {
  private readonly seen = new Set<string>();
  private primed = false;

  constructor(private readonly max = 10_000) {}

  fresh(runs: Iterable<T>): T[] {
    const out: T[] = [];
    for (const run of runs) {
      if (this.seen.has(run.key)) continue;
      this.seen.add(run.key);
      if (this.primed) out.push(run);
    }
    this.primed = true;
    for (const key of this.seen) {
      if (this.seen.size <= this.max) break;
      this.seen.delete(key);
    }
    return out;
  }
}
