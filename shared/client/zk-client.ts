/**
 * The Coordination interface over node-zookeeper-client. A view is a
 * namespace (path prefix) over one shared ZkSession; every operation waits
 * for a connection (bounded), is retried by the retry policy on connection
 * loss and operation timeout, and fails with a ZkError carrying ZooKeeper's
 * code. Sequential creates, and multis holding one, are not retried: after
 * a connection loss the first try may have created a node, and a second
 * would make a duplicate.
 */
import zookeeper, { type Client, type Event, type Stat as LibStat, type Transaction } from 'node-zookeeper-client';
import type { Logger } from 'pino';
import type {
  Acl,
  ConnectionState,
  Coordination,
  CreateMode,
  CreateOptions,
  Op,
  OpResult,
  Stat,
  StateListener,
  Watcher,
  WatchEventType,
} from './coordination.ts';
import { exponentialBackoff, type RetryPolicy } from './retry.ts';
import { ZkError, ZkCode } from './zk-error.ts';
import { ZkSession } from './zk-session.ts';
import { WriteWitness, type WitnessIo } from './write-witness.ts';
import { DroverError } from '../errors.ts';
import { sendMultiRead, type ReadResult } from './multi-read.ts';
import { ownRequestsAvailable } from './own-requests.ts';
import { sendMultiWrite, type WriteResult } from './multi-write.ts';

/** Paths per multiRead request: a reply of this many records stays a few hundred KiB at most for a claim's. */
const MULTI_READ_MAX = 500;

/**
 * node-zookeeper-client's Transaction check/setData/remove do `version =
 * version || -1`, so version 0 in a multi silently becomes -1 (no check at
 * all): every first compare-and-set of a fresh node would always win. Put
 * the version we meant back on the op it just pushed.
 */
function pinVersion(t: Transaction, version: number): Transaction {
  const ops = (t as unknown as { ops: { version?: number }[] }).ops;
  const last = ops[ops.length - 1];
  if (last) last.version = version;
  return t;
}

export interface ConnectOptions {
  /** host:port[,host:port...] of any ZooKeeper-protocol ensemble (Drover or Apache ZooKeeper). */
  connect: string;
  /** Namespace root, created if missing (unless `createRoot` is false); default '/'. */
  root?: string;
  /** Create the namespace root when missing (default true). Readers pass false: a mistyped root must not leave a node behind. */
  createRoot?: boolean;
  sessionTimeoutMs?: number;
  retry?: RetryPolicy;
  logger?: Logger;
  /** How long connecting (first, and before each operation while disconnected) may take. Default 15 s. */
  connectTimeoutMs?: number;
}

/** Connects, waits for the first session, ensures the namespace root exists. */
export async function connectCoordination(opts: ConnectOptions): Promise<Coordination> {
  if (!/^[^,\s/]+:\d+(,[^,\s/]+:\d+)*$/.test(opts.connect)) {
    throw new DroverError('DROVER_INVALID_ARGUMENT', `connect string '${opts.connect}' is not host:port[,host:port...]`);
  }
  // Before any socket opens: a root namespace() would refuse after connecting must not leave a session behind.
  if (opts.root && !isValidPath(opts.root)) {
    throw new DroverError('DROVER_INVALID_ARGUMENT', `root '${opts.root}' is not an absolute path (give one like /drover: a leading '/', no trailing '/', no empty, '.' or '..' segment)`);
  }
  const connectTimeoutMs = opts.connectTimeoutMs ?? 15_000;
  const session = new ZkSession({
    connect: opts.connect,
    sessionTimeoutMs: opts.sessionTimeoutMs ?? 10_000,
    connectTimeoutMs,
    ...(opts.logger ? { logger: opts.logger } : {}),
  });
  try {
    await session.waitConnected(connectTimeoutMs);
  } catch (err) {
    await session.close();
    throw err;
  }
  // From here on, any failure closes the session: an open socket would keep the caller's process alive.
  try {
    const root = !opts.root || opts.root === '/' ? '' : opts.root;
    const retry = opts.retry ?? exponentialBackoff({ baseMs: 50, maxDelayMs: 2_000, maxRetries: 8 });
    const base = new ZkView(session, '', retry, new WriteWitness(`${root}/.writes`));
    if (!opts.root || opts.root === '/') return base;
    // Plain creates (the witness lives under the root): a repeated one answers NODE_EXISTS, which ensurePath takes as done.
    if (opts.createRoot !== false) await new ZkView(session, '', retry, null).ensurePath(opts.root);
    return base.namespace(opts.root);
  } catch (err) {
    await session.close();
    throw err;
  }
}

const MODES: Record<CreateMode, number> = {
  persistent: zookeeper.CreateMode.PERSISTENT,
  persistent_sequential: zookeeper.CreateMode.PERSISTENT_SEQUENTIAL,
  ephemeral: zookeeper.CreateMode.EPHEMERAL,
  ephemeral_sequential: zookeeper.CreateMode.EPHEMERAL_SEQUENTIAL,
};

const PERMS: [string, number][] = [
  ['r', zookeeper.Permission.READ],
  ['w', zookeeper.Permission.WRITE],
  ['c', zookeeper.Permission.CREATE],
  ['d', zookeeper.Permission.DELETE],
  ['a', zookeeper.Permission.ADMIN],
];

const OPEN_ACL = [new zookeeper.ACL(zookeeper.Permission.ALL, new zookeeper.Id('world', 'anyone'))];

const EVENT_TYPES: Record<number, WatchEventType> = {
  [zookeeper.Event.NODE_CREATED]: 'created',
  [zookeeper.Event.NODE_DELETED]: 'deleted',
  [zookeeper.Event.NODE_DATA_CHANGED]: 'changed',
  [zookeeper.Event.NODE_CHILDREN_CHANGED]: 'children',
};

const RETRYABLE = new Set<number>([ZkCode.CONNECTION_LOSS, ZkCode.OPERATION_TIMEOUT]);

type Callback<T> = (err: unknown, value?: T) => void;

class ZkView implements Coordination {
  constructor(
    private readonly session: ZkSession,
    /** '' for the true root, else '/a/b' with no trailing slash. */
    private readonly prefix: string,
    private readonly retry: RetryPolicy,
    /** Writes that cannot simply be repeated go through it (write-witness.ts); null for its own I/O. */
    private readonly witness: WriteWitness | null,
  ) {}

  get state(): ConnectionState {
    return this.session.state;
  }

  get sessionId(): string {
    return this.session.sessionId;
  }

  get root(): string {
    return this.prefix || '/';
  }

  async create(path: string, data?: Buffer, opts: CreateOptions = {}): Promise<string> {
    // (An empty ACL is refused by the server, INVALID_ACL, and the library's multi cannot even carry one.)
    if (this.witness && opts.acl?.length !== 0) {
      const [r] = await this.witnessed({ op: 'create', path, ...(data ? { data } : {}), ...(opts.mode ? { mode: opts.mode } : {}), ...(opts.acl ? { acl: opts.acl } : {}) });
      return (r as { path: string }).path;
    }
    const mode = opts.mode ?? 'persistent';
    const acl = opts.acl ? toLibAcl(opts.acl) : OPEN_ACL;
    const full = this.full(path);
    const created = await this.call(
      path,
      (c, cb: Callback<string>) => c.create(full, data ?? Buffer.alloc(0), acl, MODES[mode], cb),
      !mode.endsWith('sequential'),
    );
    return this.relative(created);
  }

  async get(path: string, watcher?: Watcher): Promise<{ data: Buffer; stat: Stat }> {
    const full = this.full(path);
    return this.call(path, (c, cb: Callback<{ data: Buffer; stat: Stat }>) => {
      const done = (err: unknown, data?: Buffer, stat?: LibStat): void =>
        err ? cb(err) : cb(null, { data: data ?? Buffer.alloc(0), stat: toStat(stat as LibStat) });
      if (!watcher) return c.getData(full, done);
      const reg = this.session.fanout.join('data', full, this.libWatcher(watcher));
      c.getData(full, reg.lib, (err: unknown, data?: Buffer, stat?: LibStat) => (err && reg.undo(), done(err, data, stat)));
    });
  }

  async getMany(paths: readonly string[]): Promise<({ data: Buffer; stat: Stat } | null)[]> {
    if (paths.length === 0) return [];
    // Without the wire fast paths (another library version, DROVER_CLIENT_FAST_PATHS=0): a get per path, the same answers.
    if (!ownRequestsAvailable()) return Promise.all(paths.map((p, i) => this.get(p).catch((err: unknown) => absentAsNullAt(err, p, i))));
    const chunks: Promise<({ data: Buffer; stat: Stat } | null)[]>[] = [];
    for (let from = 0; from < paths.length; from += MULTI_READ_MAX) chunks.push(this.multiRead(paths, from, Math.min(paths.length, from + MULTI_READ_MAX)));
    const parts = await Promise.all(chunks);
    return parts.length === 1 ? (parts[0] as ({ data: Buffer; stat: Stat } | null)[]) : parts.flat();
  }

  private async multiRead(paths: readonly string[], from: number, to: number): Promise<({ data: Buffer; stat: Stat } | null)[]> {
    const full: string[] = [];
    for (let i = from; i < to; i++) full.push(this.full(paths[i] as string));
    const results = await this.call(paths[from] as string, (c, cb: Callback<ReadResult[]>) => sendMultiRead(c, full, cb));
    if (results.length !== to - from) throw new ZkError(ZkCode.MARSHALLING_ERROR, { path: paths[from] as string });
    const out: ({ data: Buffer; stat: Stat } | null)[] = new Array(results.length);
    for (let i = 0; i < results.length; i++) {
      const r = results[i] as ReadResult;
      if (r.err === 0) out[i] = { data: r.data as Buffer, stat: r.stat as Stat };
      else if (r.err === ZkCode.NO_NODE) out[i] = null;
      else throw new ZkError(r.err, { path: paths[from + i] as string, opIndex: from + i });
    }
    return out;
  }

  async set(path: string, data: Buffer, version = -1): Promise<Stat> {
    // An unconditional set can be repeated; a conditional one would collide with its own first try.
    if (this.witness && version >= 0) return ((await this.witnessed({ op: 'set', path, data, version }))[0] as { stat: Stat }).stat;
    const full = this.full(path);
    return this.call(path, (c, cb: Callback<Stat>) =>
      c.setData(full, data, version, (err: unknown, stat?: LibStat) => (err ? cb(err) : cb(null, toStat(stat as LibStat)))),
    );
  }

  async delete(path: string, version = -1): Promise<void> {
    if (this.witness && version >= 0) {
      await this.witnessed({ op: 'delete', path, version });
      return;
    }
    const full = this.full(path);
    return this.call(path, (c, cb: Callback<void>) => c.remove(full, version, (err: unknown) => cb(err)));
  }

  async exists(path: string, watcher?: Watcher): Promise<Stat | null> {
    const full = this.full(path);
    return this.call(path, (c, cb: Callback<Stat | null>) => {
      const done = (err: unknown, stat?: LibStat): void => (err ? cb(err) : cb(null, stat ? toStat(stat) : null));
      if (!watcher) return c.exists(full, done);
      const reg = this.session.fanout.join('exists', full, this.libWatcher(watcher));
      c.exists(full, reg.lib, (err: unknown, stat?: LibStat) => (err && reg.undo(), done(err, stat)));
    });
  }

  async children(path: string, watcher?: Watcher): Promise<string[]> {
    return (await this.childrenWithStat(path, watcher)).children;
  }

  async childrenWithStat(path: string, watcher?: Watcher): Promise<{ children: string[]; stat: Stat }> {
    const full = this.full(path);
    return this.call(path, (c, cb: Callback<{ children: string[]; stat: Stat }>) => {
      const done = (err: unknown, children?: string[], stat?: LibStat): void =>
        err ? cb(err) : cb(null, { children: children ?? [], stat: toStat(stat as LibStat) });
      if (!watcher) return c.getChildren(full, done);
      const reg = this.session.fanout.join('child', full, this.libWatcher(watcher));
      c.getChildren(full, reg.lib, (err: unknown, children?: string[], stat?: LibStat) => (err && reg.undo(), done(err, children, stat)));
    });
  }

  async multi(ops: Op[]): Promise<OpResult[]> {
    if (ops.length === 0) return [];
    if (this.witness) return this.witness.write(this.witnessIo(), ops);
    return this.sendMulti(ops, null, true);
  }

  /** One write as a multi with the witness, its error without the op index (a single op's error, as ZooKeeper answers it). */
  private async witnessed(op: Op): Promise<OpResult[]> {
    try {
      return await (this.witness as WriteWitness).write(this.witnessIo(), [op]);
    } catch (err) {
      if (err instanceof ZkError && err.opIndex !== undefined) throw new ZkError(err.code, { path: err.path ?? op.path, cause: err });
      throw err;
    }
  }

  private io: WitnessIo | null = null;

  private witnessIo(): WitnessIo {
    if (this.io) return this.io;
    // Absolute paths, no witness of its own: the witness's reads, its barrier and its directory.
    const abs = new ZkView(this.session, '', this.retry, null);
    this.io = {
      connectedSession: async () => {
        await this.call('', (_c, cb: Callback<void>) => cb(null), false);
        return this.session.sessionId;
      },
      sendOnce: (ops, witness) => this.sendMulti(ops, witness, false),
      barrier: (path) => abs.sendMulti([{ op: 'check', path, version: -1 }], null, true).then(() => undefined),
      get: (path) => abs.get(path).catch(absentAsNull),
      exists: (path) => abs.exists(path),
      children: (path) => abs.children(path),
      makeDir: (path) => abs.create(path).then(() => undefined, (err: unknown) => {
        if (!(err instanceof ZkError && err.code === ZkCode.NODE_EXISTS)) throw err;
      }),
      delayBeforeRetry: (retries, elapsedMs) => this.retry.delayBeforeRetry(retries, elapsedMs),
      full: (path) => this.full(path),
    };
    return this.io;
  }

  /** The multi on the wire: `ops` relative to this view, then `extra` (absolute) if given; its result is left out. */
  private sendMulti(ops: Op[], extra: Op | null, retry: boolean): Promise<OpResult[]> {
    const all = extra ? [...ops, extra] : ops;
    const idempotent = retry && !ops.some((o) => o.op === 'create' && o.mode?.endsWith('sequential'));
    if (ownRequestsAvailable()) {
      return this.call(
        '',
        (c, cb: Callback<OpResult[]>) => {
          const paths = all.map((o, i) => (i < ops.length ? this.full(o.path) : o.path));
          sendMultiWrite(c, all, paths, (err, results) => {
            if (err) return cb(err);
            const r = results as WriteResult[];
            const failed = r.findIndex((x) => x.type === -1 && x.err !== 0);
            if (failed >= 0) return cb(new ZkError((r[failed] as WriteResult).err, { path: all[failed]?.path as string, opIndex: failed }));
            if (r.length !== all.length) return cb(new ZkError(ZkCode.MARSHALLING_ERROR, { path: all[0]?.path as string }));
            const out: OpResult[] = new Array(ops.length);
            for (let i = 0; i < ops.length; i++) out[i] = this.ownResult(r[i] as WriteResult, ops[i] as Op);
            cb(null, out);
          });
        },
        idempotent,
      );
    }
    return this.call(
      '',
      (c, cb: Callback<OpResult[]>) => {
        let t: Transaction = c.transaction();
        for (const o of ops) t = this.addOp(t, o);
        if (extra) t = this.addOp(t, extra, true);
        t.commit((err: unknown, results?: LibResult[]) => {
          if (!err) return cb(null, (results ?? []).slice(0, ops.length).map((r, i) => this.toResult(r, ops[i] as Op)));
          const failed = (results ?? []).findIndex((r) => r.type === -1 && r.err !== 0);
          if (failed < 0) return cb(err);
          const code = (results?.[failed] as LibResult).err ?? ZkCode.SYSTEM_ERROR;
          cb(new ZkError(code, { path: all[failed]?.path as string, opIndex: failed, cause: err }));
        });
      },
      idempotent,
    );
  }

  private ownResult(r: WriteResult, o: Op): OpResult {
    switch (o.op) {
      case 'create':
        return { op: 'create', path: this.relative(r.path ?? this.full(o.path)) };
      case 'set':
        return { op: 'set', stat: r.stat as Stat };
      case 'delete':
        return { op: 'delete' };
      case 'check':
        return { op: 'check' };
    }
  }

  async getAcl(path: string): Promise<{ acl: Acl[]; stat: Stat }> {
    const full = this.full(path);
    return this.call(path, (c, cb: Callback<{ acl: Acl[]; stat: Stat }>) =>
      c.getACL(full, (err: unknown, acl?: zookeeper.ACL[], stat?: LibStat) =>
        err ? cb(err) : cb(null, { acl: (acl ?? []).map(fromLibAcl), stat: toStat(stat as LibStat) }),
      ),
    );
  }

  async setAcl(path: string, acl: Acl[], version = -1): Promise<Stat> {
    const full = this.full(path);
    return this.call(path, (c, cb: Callback<Stat>) =>
      c.setACL(full, toLibAcl(acl), version, (err: unknown, stat?: LibStat) => (err ? cb(err) : cb(null, toStat(stat as LibStat)))),
    );
  }

  addAuth(scheme: string, auth: string): void {
    this.session.addAuth(scheme, auth);
  }

  async ensurePath(path: string): Promise<void> {
    checkPath(path);
    const parts = path.split('/').filter(Boolean);
    // Fast path: usually it exists already.
    if (await this.exists(path)) return;
    let at = '';
    for (const part of parts) {
      at += `/${part}`;
      try {
        await this.create(at);
      } catch (err) {
        if (!(err instanceof ZkError && err.code === ZkCode.NODE_EXISTS)) throw err;
      }
    }
  }

  async deleteRecursive(path: string): Promise<void> {
    checkPath(path);
    // Iterative post-order walk: depth is user-controlled and the stack is small.
    const stack: { path: string; expanded: boolean }[] = [{ path, expanded: false }];
    while (stack.length > 0) {
      const top = stack[stack.length - 1] as { path: string; expanded: boolean };
      if (!top.expanded) {
        top.expanded = true;
        let kids: string[];
        try {
          kids = await this.children(top.path);
        } catch (err) {
          if (err instanceof ZkError && err.code === ZkCode.NO_NODE) {
            stack.pop();
            continue;
          }
          throw err;
        }
        const base = top.path === '/' ? '' : top.path;
        for (const k of kids) stack.push({ path: `${base}/${k}`, expanded: false });
        continue;
      }
      stack.pop();
      if (top.path === '/') continue;
      try {
        await this.delete(top.path);
      } catch (err) {
        if (err instanceof ZkError && err.code === ZkCode.NO_NODE) continue;
        // A child appeared meanwhile: walk it again.
        if (err instanceof ZkError && err.code === ZkCode.NOT_EMPTY) stack.push({ path: top.path, expanded: false });
        else throw err;
      }
    }
  }

  onState(listener: StateListener): () => void {
    return this.session.onState(listener);
  }

  waitConnected(timeoutMs = 15_000): Promise<void> {
    return this.session.waitConnected(timeoutMs);
  }

  namespace(root: string): Coordination {
    checkPath(root);
    return new ZkView(this.session, root === '/' ? this.prefix : this.prefix + root, this.retry, this.witness);
  }

  close(): Promise<void> {
    return this.session.close();
  }

  private full(path: string): string {
    checkPath(path);
    if (!this.prefix) return path;
    return path === '/' ? this.prefix : this.prefix + path;
  }

  private relative(full: string): string {
    if (!this.prefix) return full;
    if (full === this.prefix) return '/';
    return full.startsWith(this.prefix + '/') ? full.slice(this.prefix.length) : full;
  }

  /**
   * One wrapper per Watcher function, so the session's fan-out (a set, as
   * ZooKeeper's Java client keeps watchers) sees a caller re-reading a node
   * with the same watcher before it fired (a cache re-reading data after a
   * child event) as one registration, and it hears one event, not one per read.
   */
  private readonly wrappedWatchers = new WeakMap<Watcher, (e: Event) => void>();

  private libWatcher(watcher: Watcher): (e: Event) => void {
    let wrapped = this.wrappedWatchers.get(watcher);
    if (!wrapped) {
      wrapped = (e: Event) => {
        const type = EVENT_TYPES[e.getType()];
        if (!type) return;
        watcher({ type, path: this.relative(e.getPath()) });
      };
      this.wrappedWatchers.set(watcher, wrapped);
    }
    return wrapped;
  }

  private addOp(t: Transaction, o: Op, absolute = false): Transaction {
    const full = absolute ? o.path : this.full(o.path);
    switch (o.op) {
      case 'create':
        return t.create(full, o.data ?? Buffer.alloc(0), o.acl ? toLibAcl(o.acl) : OPEN_ACL, MODES[o.mode ?? 'persistent']);
      case 'set':
        return pinVersion(t.setData(full, o.data, o.version ?? -1), o.version ?? -1);
      case 'delete':
        return pinVersion(t.remove(full, o.version ?? -1), o.version ?? -1);
      case 'check':
        return pinVersion(t.check(full, o.version), o.version);
    }
  }

  private toResult(r: LibResult, o: Op): OpResult {
    switch (o.op) {
      case 'create':
        return { op: 'create', path: this.relative(r.path ?? this.full(o.path)) };
      case 'set':
        return { op: 'set', stat: toStat(r.stat as LibStat) };
      case 'delete':
        return { op: 'delete' };
      case 'check':
        return { op: 'check' };
    }
  }

  /** One request: wait for a connection, send, map errors, retry what is safe to retry. */
  private call<T>(path: string, send: (c: Client, cb: Callback<T>) => void, idempotent = true): Promise<T> {
    const client = this.session.connectedClient();
    if (client === null) return this.callWaiting(path, send, idempotent, Date.now(), 0);
    // Connected (the common case): sent now, one promise, no awaits on the way.
    const started = Date.now();
    return new Promise<T>((resolve, reject) => {
      try {
        send(client, (err, value) => {
          if (!err) return resolve(value as T);
          const e = toZkError(err, path);
          if (e instanceof ZkError && RETRYABLE.has(e.code) && idempotent) resolve(this.retryAfter(e, path, send, started));
          else reject(e);
        });
      } catch (err) {
        // The library asserts on bad arguments (e.g. a path it cannot encode) synchronously.
        reject(new ZkError(ZkCode.BAD_ARGUMENTS, { path, cause: err }));
      }
    });
  }

  /** The first retry of a request the fast path sent: the policy's pause, then as callWaiting goes on. */
  private async retryAfter<T>(err: ZkError, path: string, send: (c: Client, cb: Callback<T>) => void, started: number): Promise<T> {
    const delay = this.retry.delayBeforeRetry(1, Date.now() - started);
    if (delay === null) throw err;
    await new Promise((r) => setTimeout(r, delay));
    return this.callWaiting(path, send, true, started, 1);
  }

  /** `call` when it must wait for the connection first (or retry): the same steps, with awaits. */
  private async callWaiting<T>(path: string, send: (c: Client, cb: Callback<T>) => void, idempotent: boolean, started: number, retriesSoFar: number): Promise<T> {
    for (let retries = retriesSoFar; ; ) {
      const client = await this.session.ready().catch((err: unknown) => {
        throw err instanceof DroverError && err.code === 'DROVER_NOT_CONNECTED' ? new ZkError(ZkCode.CONNECTION_LOSS, { path, cause: err }) : err;
      });
      try {
        return await new Promise<T>((resolve, reject) => {
          try {
            send(client, (err, value) => (err ? reject(toZkError(err, path)) : resolve(value as T)));
          } catch (err) {
            // The library asserts on bad arguments (e.g. a path it cannot encode) synchronously.
            reject(new ZkError(ZkCode.BAD_ARGUMENTS, { path, cause: err }));
          }
        });
      } catch (err) {
        if (!(err instanceof ZkError) || !RETRYABLE.has(err.code) || !idempotent) throw err;
        retries += 1;
        const delay = this.retry.delayBeforeRetry(retries, Date.now() - started);
        if (delay === null) throw err;
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }
}

interface LibResult {
  type: number;
  path?: string;
  stat?: LibStat;
  err?: number;
}

function absentAsNull(err: unknown): null {
  if (err instanceof ZkError && err.code === ZkCode.NO_NODE) return null;
  throw err;
}

/** getMany's answer for one path read alone: null when missing, else the error with the path's index. */
function absentAsNullAt(err: unknown, path: string, opIndex: number): null {
  if (err instanceof ZkError && err.code === ZkCode.NO_NODE) return null;
  if (err instanceof ZkError) throw new ZkError(err.code, { path, opIndex, cause: err });
  throw err;
}

function toZkError(err: unknown, path: string): Error {
  if (err instanceof ZkError || err instanceof DroverError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'number') return new ZkError(code, { path, cause: err });
  return new ZkError(ZkCode.SYSTEM_ERROR, { path, cause: err });
}

/** Paths must be absolute, without a trailing slash (except '/'), without empty, '.' or '..' segments. */
function checkPath(path: string): void {
  if (!isValidPath(path)) throw new ZkError(ZkCode.BAD_ARGUMENTS, { path: String(path) });
}

/** One pass over the characters: every request checks its path (a claim of 150 runs, ~750 paths). */
function isValidPath(path: string): boolean {
  if (typeof path !== 'string' || path.charCodeAt(0) !== 47 /* / */) return false;
  const n = path.length;
  if (n === 1) return true;
  if (path.charCodeAt(n - 1) === 47) return false;
  let segment = 1;
  for (let i = 1; i <= n; i++) {
    const c = i < n ? path.charCodeAt(i) : 47;
    if (c === 0) return false;
    if (c !== 47) continue;
    const len = i - segment;
    const dot = path.charCodeAt(segment) === 46; /* . */
    if (len === 0 || (dot && (len === 1 || (len === 2 && path.charCodeAt(segment + 1) === 46)))) return false;
    segment = i + 1;
  }
  return true;
}

function long(b: Buffer | undefined): number {
  return b ? Number(b.readBigInt64BE(0)) : 0;
}

function toStat(s: LibStat): Stat {
  const owner = (s.ephemeralOwner as Buffer | undefined)?.toString('hex') ?? '0';
  return {
    czxid: long(s.czxid as Buffer),
    mzxid: long(s.mzxid as Buffer),
    pzxid: long(s.pzxid as Buffer),
    ctime: long(s.ctime as Buffer),
    mtime: long(s.mtime as Buffer),
    version: s.version,
    cversion: s.cversion,
    aversion: s.aversion,
    ephemeralOwner: /^0+$/.test(owner) ? '0' : owner,
    dataLength: s.dataLength,
    numChildren: s.numChildren,
  };
}

function toLibAcl(acl: Acl[]): zookeeper.ACL[] {
  if (acl.length === 0) throw new ZkError(ZkCode.INVALID_ACL);
  return acl.map((a) => {
    let perms = 0;
    for (const [ch, bit] of PERMS) if (a.perms.includes(ch)) perms |= bit;
    // The library refuses an empty permission set; ZooKeeper would too.
    if (perms === 0) throw new ZkError(ZkCode.INVALID_ACL);
    return new zookeeper.ACL(perms, new zookeeper.Id(a.scheme, a.id));
  });
}

function fromLibAcl(a: zookeeper.ACL): Acl {
  // The typings call it `perms`; the library's object has `permission`.
  const bits = (a as unknown as { permission: number }).permission;
  const perms = PERMS.filter(([, bit]) => (bits & bit) !== 0)
    .map(([ch]) => ch)
    .join('');
  return { perms, scheme: a.id.scheme as Acl['scheme'], id: a.id.id };
}
