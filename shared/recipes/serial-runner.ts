/**
 * Runs one async task at a time and coalesces triggers: a trigger while the
 * task runs asks for exactly one more pass after it. Recipes re-evaluate
 * their state this way on every watch and state event, so two passes never
 * interleave and no event is dropped (the pass after it reads fresh state).
 */
export class SerialRunner {
  private running = false;
  private again = false;
  /** Callers of run() waiting for a pass that starts after their call. */
  private pending: Array<() => void> = [];

  constructor(
    private readonly task: () => Promise<void>,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Asks for a pass; returns at once. */
  trigger(): void {
    this.again = true;
    if (!this.running) void this.loop();
  }

  /** Triggers and resolves once a pass that started after this call has finished. */
  run(): Promise<void> {
    return new Promise((resolve) => {
      this.pending.push(resolve);
      this.trigger();
    });
  }

  private async loop(): Promise<void> {
    this.running = true;
    while (this.again) {
      this.again = false;
      const served = this.pending;
      this.pending = [];
      try {
        await this.task();
      } catch (err) {
        this.onError(err);
      }
      for (const resolve of served) resolve();
    }
    this.running = false;
  }
}
