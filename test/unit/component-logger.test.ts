/**
 * componentLogger: nested components name one `component` path per line
 * (pino itself would repeat the key once per level).
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { componentLogger } from '../../shared/log.ts';

function capture(): { lines: string[]; root: pino.Logger } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  return { lines, root: pino({ base: null, timestamp: false }, sink) };
}

describe('componentLogger', () => {
  it('keeps one component key per line, as the path of nested components, with every other binding', () => {
    const { lines, root } = capture();
    const worker = componentLogger(root.child({ member: 2 }), 'worker', { name: 'w1' });
    const session = componentLogger(componentLogger(worker, 'client'), 'coordination');
    session.info({ state: 'CONNECTED' }, 'connection state');
    worker.info('registered');
    expect(lines).toHaveLength(2);
    const first = lines[0] as string;
    expect(first.split('"component":').length - 1).toBe(1);
    expect(JSON.parse(first)).toMatchObject({ member: 2, name: 'w1', component: 'worker/client/coordination', state: 'CONNECTED', msg: 'connection state' });
    expect(JSON.parse(lines[1] as string)).toMatchObject({ component: 'worker', name: 'w1' });
    expect(session.bindings()).toEqual({ member: 2, name: 'w1', component: 'worker/client/coordination' });
  });

  it('a first component is a plain child', () => {
    const { lines, root } = capture();
    componentLogger(root, 'dashboard').warn('x');
    expect(JSON.parse(lines[0] as string)).toEqual({ level: 40, component: 'dashboard', msg: 'x' });
  });
});
