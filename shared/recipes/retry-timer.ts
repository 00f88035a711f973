/**
 * A recipe's retry after a failed pass while connected: capped exponential
 * backoff, one timer at a time, reset by the next pass that succeeds. (When
 * disconnected, passes wait for RECONNECTED instead of a timer.)
 */
export class RetryTimer {
  private timer: NodeJS.Timeout | undefined;
  private delayMs = 0;

  constructor(
    private readonly fire: () => void,
    private readonly baseMs = 50,
    private readonly maxMs = 2000,
  ) {}

  schedule(): void {
    if (this.timer) return;
    this.delayMs = Math.min(this.maxMs, this.delayMs === 0 ? this.baseMs : this.delayMs * 2);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.fire();
    }, this.delayMs);
    // A pending retry alone must not keep the process alive.
    this.timer.unref();
  }

  reset(): void {
    this.delayMs = 0;
  }

  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
