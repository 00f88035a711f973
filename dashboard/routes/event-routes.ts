/**
 * GET /api/events: Server-Sent Events. The first message (`snapshot`) holds
 * everything; then one message per changed section (`workers`, `runs`,
 * `metrics`, ...) as the watches report changes. A comment line every 15 s
 * keeps proxies from closing an idle stream.
 */
import type { FastifyInstance } from 'fastify';
import type { LiveEvent, LiveState } from '../live/live-state.ts';

export function installEventRoutes(app: FastifyInstance, live: LiveState): void {
  const open = new Set<() => void>();
  // Streams never end on their own: end them before the server waits for its connections.
  app.addHook('preClose', async () => {
    for (const end of [...open]) end();
  });
  app.get('/api/events', (request, reply) => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    send('snapshot', live.snapshot());
    const unsubscribe = live.subscribe((e: LiveEvent) => send(e.section, e.data));
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    const done = () => {
      clearInterval(heartbeat);
      unsubscribe();
      open.delete(end);
    };
    const end = () => {
      done();
      res.end();
    };
    open.add(end);
    request.raw.on('close', done);
    res.on('error', done);
  });
}
