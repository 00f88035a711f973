/**
 * The member's Prometheus endpoint (zoo.cfg `metricsProvider.*`, as
 * ZooKeeper 3.6+): plain node:http, so the core stays free of a metrics
 * library. GET or HEAD of `/metrics` (or `/`) answers `render()`; nothing
 * else is served. Its own port, apart from the client port, as ZooKeeper's.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { ConfigError, type MetricsProviderConfig } from '../config/zoo-cfg.ts';
import { PROMETHEUS_CONTENT_TYPE } from './prometheus-format.ts';

export interface MetricsListenerOptions {
  host: string;
  port: number;
  /** The exposition text, computed per scrape. */
  render: () => string;
  log: Logger;
}

/** Starts the endpoint zoo.cfg asks for, or none (null) when it asks for none. */
export async function startMetricsListener(provider: MetricsProviderConfig | null, render: () => string, log: Logger): Promise<MetricsListener | null> {
  return provider ? MetricsListener.start({ host: provider.httpHost, port: provider.httpPort, render, log }) : null;
}

export class MetricsListener {
  private readonly server: http.Server;
  private bound = { host: '', port: 0 };

  private constructor(private readonly opts: MetricsListenerOptions) {
    this.server = http.createServer((req, res) => this.answer(req, res));
  }

  /** Listens, or rejects (e.g. the port is taken): ZooKeeper too refuses to start without its metrics port. */
  static async start(opts: MetricsListenerOptions): Promise<MetricsListener> {
    const listener = new MetricsListener(opts);
    await new Promise<void>((resolve, reject) => {
      const failed = (err: Error) =>
        reject(new ConfigError(`metricsProvider.httpHost/httpPort: cannot listen on ${opts.host}:${opts.port}: ${err.message}`, { cause: err }));
      listener.server.once('error', failed);
      listener.server.listen(opts.port, opts.host, () => {
        listener.server.off('error', failed);
        resolve();
      });
    });
    // A later server error must not take the member down with it.
    listener.server.on('error', (err) => opts.log.warn({ err }, 'metrics endpoint error'));
    const addr = listener.server.address() as AddressInfo;
    listener.bound = { host: addr.address, port: addr.port };
    opts.log.info(listener.bound, 'serving Prometheus metrics on /metrics');
    return listener;
  }

  /** Where it listens (the port is the OS's pick when zoo.cfg said 0). */
  get address(): { host: string; port: number } {
    return { ...this.bound };
  }

  private answer(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' && path !== '/') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found: metrics are at /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    let body: string;
    try {
      body = this.opts.render();
    } catch (err) {
      this.opts.log.warn({ err }, 'metrics could not be rendered');
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('metrics unavailable\n');
      return;
    }
    res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE, 'content-length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  /** Stops listening and drops open scrapes (a keep-alive scraper must not hold the member's stop). */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }
}
