/**
 * The framework's test harness: every framework test is written once and
 * runs on a 3-member Drover ensemble and on Apache ZooKeeper 3.8 (both
 * started by backends-setup.ts). Each test gets a fresh root namespace;
 * every client it makes shares that root and is closed after the test.
 */
import { afterEach, describe, inject } from 'vitest';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { connectCoordination, type ConnectOptions } from '../../shared/client/zk-client.ts';
import type { Coordination, StateChange } from '../../shared/client/coordination.ts';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.ts';

export type BackendName = 'drover' | 'zookeeper';

export interface Backend {
  name: BackendName;
  /** host:port[,host:port...] of every member. */
  connectString: string;
  /** The members' client addresses. */
  members: { host: string; port: number }[];
}

export interface ClientOptions {
  sessionTimeoutMs?: number;
  /** Connect through a TCP proxy the test can cut (the proxy is returned by `proxied`). */
  proxy?: TcpProxy;
  logger?: Logger;
  retry?: ConnectOptions['retry'];
  /** A root other than the test's own (e.g. '/' to look at everything). */
  root?: string;
}

export interface BackendEnv {
  backend(): Backend;
  /** The test's fresh namespace root, e.g. '/t-3f9a1c02'. */
  root(): string;
  client(opts?: ClientOptions): Promise<Coordination>;
  /** A client connected through a proxy to one member, for SUSPENDED/LOST tests. */
  proxied(opts?: Omit<ClientOptions, 'proxy'>): Promise<{ client: Coordination; proxy: TcpProxy }>;
  /** Registers cleanup to run after the test (processes, workers). */
  defer(fn: () => Promise<void> | void): void;
}

function backendFor(name: BackendName): Backend | null {
  const connect = name === 'drover' ? inject('droverConnect') : inject('zookeeperConnect');
  if (!connect) return null;
  const members = connect.split(',').map((hp) => {
    const [host, port] = hp.split(':');
    return { host: host as string, port: Number(port) };
  });
  return { name, connectString: connect, members };
}

export function describeOnBackends(title: string, body: (env: BackendEnv) => void): void {
  for (const name of ['drover', 'zookeeper'] as const) {
    const backend = backendFor(name);
    describe.skipIf(!backend)(`${title} [${name}]`, () => {
      let root = '';
      let cleanups: (() => Promise<void> | void)[] = [];
      const env: BackendEnv = {
        backend: () => backend as Backend,
        root: () => {
          if (!root) root = `/t-${randomBytes(4).toString('hex')}`;
          return root;
        },
        async client(opts = {}) {
          const connect = opts.proxy ? opts.proxy.address : (backend as Backend).connectString;
          const c = await connectCoordination({
            connect,
            root: opts.root ?? env.root(),
            sessionTimeoutMs: opts.sessionTimeoutMs ?? 10_000,
            ...(opts.logger ? { logger: opts.logger } : {}),
            ...(opts.retry ? { retry: opts.retry } : {}),
          });
          cleanups.push(() => c.close());
          return c;
        },
        async proxied(opts = {}) {
          const member = (backend as Backend).members[0] as { host: string; port: number };
          const proxy = await startTcpProxy(member);
          cleanups.push(() => proxy.close());
          const client = await env.client({ ...opts, proxy });
          return { client, proxy };
        },
        defer(fn) {
          cleanups.push(fn);
        },
      };
      afterEach(async () => {
        const fns = cleanups.reverse();
        cleanups = [];
        root = '';
        for (const fn of fns) await fn();
      });
      body(env);
    });
  }
}

/**
 * Waits until `check` returns a truthy value, re-checking after each
 * `interval` ms, failing after `timeoutMs` with `what`. Only for
 * conditions no event announces (e.g. a remote process's effect).
 */
export async function until<T>(what: string, check: () => Promise<T> | T, opts: { timeoutMs?: number; intervalMs?: number } = {}): Promise<NonNullable<T>> {
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 50));
  }
}

/** Resolves with the first value `register` delivers, or rejects after timeoutMs. */
export function nextEvent<T>(what: string, register: (deliver: (v: T) => void) => void, timeoutMs = 20_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
    register((v) => {
      clearTimeout(timer);
      resolve(v);
    });
  });
}

/**
 * Arms a watch and waits until the server has registered it (the read that
 * sets it answered), then returns the promise of its event: the way to
 * avoid racing a write on another session against the watch.
 */
export async function armed<T>(what: string, register: (deliver: (v: T) => void) => Promise<unknown>, timeoutMs = 20_000): Promise<{ event: Promise<T> }> {
  let deliver!: (v: T) => void;
  const event = nextEvent<T>(what, (d) => (deliver = d), timeoutMs);
  await register((v) => deliver(v));
  return { event };
}

/** The next time `client` enters `state`. */
export function nextState(client: Coordination, state: StateChange['state'], timeoutMs = 20_000): Promise<StateChange> {
  return nextEvent(
    state,
    (deliver) => {
      const off = client.onState((s) => {
        if (s.state === state) {
          off();
          deliver(s);
        }
      });
    },
    timeoutMs,
  );
}
