/**
 * The framework's two logger helpers. Loggers are injected (one pino root
 * per process, made by the CLI); components take a child of what they are
 * given.
 */
import { pino, type Bindings, type Logger } from 'pino';

/** The one silent logger: what a component logs to when nobody injected one. */
export const silentLogger: Logger = pino({ level: 'silent' });

/**
 * A child for a named component. Nested components would repeat the
 * `component` key on every line (pino appends child bindings as they
 * come), so the child's `component` is the path from the outermost one
 * (`worker/scheduler/leader-election`) and the parent's is dropped from the
 * child's bindings: one `component` per line.
 */
export function componentLogger(parent: Logger, component: string, bindings: Bindings = {}): Logger {
  const outer = parent.bindings()['component'];
  if (typeof outer !== 'string') return parent.child({ ...bindings, component });
  const child = parent.child({ ...bindings, component: `${outer}/${component}` });
  const key = pino.symbols.chindingsSym as unknown as keyof Logger;
  const chindings = child[key] as unknown;
  if (typeof chindings === 'string') {
    const own = `,"component":${JSON.stringify(outer)}`;
    (child as unknown as Record<symbol, string>)[pino.symbols.chindingsSym] = chindings.replace(own, '');
  }
  return child;
}
