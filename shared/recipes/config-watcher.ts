/**
 * Watches a znode holding JSON configuration and calls back with the
 * initial value and every new one. It tolerates the node not existing yet
 * (the value is undefined until it is created), keeps the last good value
 * when the node is deleted or holds something unparsable (reported to
 * `onError` as DROVER_CONFIG), and ignores an empty node.
 *
 * Connection states (it is a NodeCache underneath):
 * - SUSPENDED: the last value stays in force; no callbacks.
 * - RECONNECTED / LOST then a new session: the node is read again; a change
 *   made meanwhile is delivered (several changes may arrive as the last one).
 * - CLOSED: no more callbacks; `value` stays readable.
 */
import type { Logger } from 'pino';
import type { Coordination } from '../client/coordination.ts';
import { DroverError } from '../errors.ts';
import { ListenerSet } from './listener-set.ts';
import { NodeCache, type CachedNode } from './node-cache.ts';
import { componentLogger, silentLogger } from '../log.ts';

export interface ConfigWatcherOptions<T> {
  /** Validates/converts the parsed JSON; throw to reject a value. Default: the JSON as is. */
  parse?: (json: unknown) => T;
  logger?: Logger;
}

export class ConfigWatcher<T = unknown> {
  private readonly log: Logger;
  private readonly cache: NodeCache;
  private readonly parse: (json: unknown) => T;
  private readonly values: ListenerSet<[T]>;
  private readonly errors: ListenerSet<[DroverError]>;
  private current: T | undefined;
  private hasValue = false;

  constructor(
    client: Coordination,
    private readonly path: string,
    opts: ConfigWatcherOptions<T> = {},
  ) {
    this.log = componentLogger(opts.logger ?? silentLogger, 'config-watcher', { path });
    this.parse = opts.parse ?? ((json) => json as T);
    this.cache = new NodeCache(client, path, { logger: this.log });
    this.values = new ListenerSet(this.log, 'value');
    this.errors = new ListenerSet(this.log, 'error');
    this.cache.onCreated((n) => this.accept(n));
    this.cache.onChanged((n) => this.accept(n));
  }

  /** Reads the node; resolves with the initial value (undefined when there is none yet). */
  async start(): Promise<T | undefined> {
    await this.cache.start();
    return this.current;
  }

  close(): Promise<void> {
    return this.cache.close();
  }

  /** The last good value, or undefined before the first. */
  get value(): T | undefined {
    return this.current;
  }

  /** Called with each new value; at once with the current one if there is one. */
  onValue(listener: (value: T) => void): () => void {
    const off = this.values.add(listener);
    if (this.hasValue) listener(this.current as T);
    return off;
  }

  /** Called when the node holds something that is not valid configuration. */
  onError(listener: (err: DroverError) => void): () => void {
    return this.errors.add(listener);
  }

  private accept(node: CachedNode): void {
    if (node.data.length === 0) return;
    let value: T;
    try {
      value = this.parse(JSON.parse(node.data.toString('utf8')));
    } catch (cause) {
      const err = new DroverError('DROVER_CONFIG', `${this.path} does not hold valid configuration: ${(cause as Error).message}`, {
        cause,
        details: { path: this.path, version: node.stat.version },
      });
      this.log.warn({ err }, 'ignoring invalid configuration');
      this.errors.emit(err);
      return;
    }
    this.current = value;
    this.hasValue = true;
    this.values.emit(value);
  }
}
