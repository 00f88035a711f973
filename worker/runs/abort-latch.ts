/**
 * An attempt's abort, without an AbortController until someone asks for
 * the signal: most handlers never look at ctx.signal, and a controller per
 * run is a measurable share of a short run's cost. Aborting before the
 * signal exists still gives an aborted signal (with the reason) on access.
 */
export class AbortLatch {
  private controller: AbortController | null = null;
  private done = false;
  private why: unknown = undefined;
  private listeners: ((reason: unknown) => void)[] = [];

  get aborted(): boolean {
    return this.done;
  }

  get reason(): unknown {
    return this.why;
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.done) this.controller.abort(this.why);
    }
    return this.controller.signal;
  }

  abort(reason: unknown): void {
    if (this.done) return;
    this.done = true;
    this.why = reason;
    this.controller?.abort(reason);
    const listeners = this.listeners;
    this.listeners = [];
    for (const l of listeners) l(reason);
  }

  /** Calls `listener` once on abort (at once if already aborted). */
  onAbort(listener: (reason: unknown) => void): void {
    if (this.done) listener(this.why);
    else this.listeners.push(listener);
  }
}
