/**
 * Typed listeners for one recipe event: `add` returns the remover, `emit`
 * calls each in order, and a listener that throws is logged, never allowed
 * to break the recipe or the other listeners.
 */
import type { Logger } from 'pino';

export class ListenerSet<Args extends unknown[]> {
  private readonly listeners = new Set<(...args: Args) => void>();

  constructor(
    private readonly log: Logger,
    private readonly event: string,
  ) {}

  add(listener: (...args: Args) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(...args: Args): void {
    for (const l of [...this.listeners]) {
      try {
        l(...args);
      } catch (err) {
        this.log.error({ err, event: this.event }, 'listener threw');
      }
    }
  }

  clear(): void {
    this.listeners.clear();
  }
}
