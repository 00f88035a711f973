/**
 * THE small interface the framework (recipes, worker, dashboard) uses to
 * reach a coordination service. One implementation (`zk-client.ts`) runs
 * over node-zookeeper-client, so the same code runs on Drover's core and on
 * Apache ZooKeeper. Paths are relative to the client's namespace
 * (`namespace('/drover')`), and always absolute within it ('/workers').
 */

/** The create modes node-zookeeper-client can send (it has no container/TTL). */
export type CreateMode = 'persistent' | 'persistent_sequential' | 'ephemeral' | 'ephemeral_sequential';

/**
 * A znode's Stat. zxids are numbers: epoch<<32 | counter stays below 2^53
 * for any epoch below 2^21, far beyond what an ensemble reaches.
 */
export interface Stat {
  czxid: number;
  mzxid: number;
  pzxid: number;
  ctime: number;
  mtime: number;
  version: number;
  cversion: number;
  aversion: number;
  /** The owning session as 16 hex digits, or '0' for non-ephemeral nodes. */
  ephemeralOwner: string;
  dataLength: number;
  numChildren: number;
}

export type WatchEventType = 'created' | 'deleted' | 'changed' | 'children';

export interface WatchEvent {
  type: WatchEventType;
  /** Relative to the namespace the watch was set through. */
  path: string;
}

/** One-shot, as ZooKeeper's: it fires at most once, then must be set again. */
export type Watcher = (event: WatchEvent) => void;

/**
 * Connection states as Curator names them.
 * - CONNECTED: the first session is established.
 * - SUSPENDED: the connection dropped; the session may still be alive.
 *   Ephemerals may vanish at any moment: stop acting as leader/owner.
 * - RECONNECTED: connected again; `sessionChanged` tells whether it is the
 *   same session (ephemerals and watches intact) or a new one after LOST.
 * - LOST: the session is gone (expired, or the session timeout elapsed while
 *   SUSPENDED). Its ephemerals are gone. The client keeps trying and makes a
 *   new session, reported as RECONNECTED with `sessionChanged: true`.
 * - CLOSED: `close()` was called; terminal.
 */
export type ConnectionState = 'CONNECTED' | 'SUSPENDED' | 'RECONNECTED' | 'LOST' | 'CLOSED';

export interface StateChange {
  state: ConnectionState;
  /** For RECONNECTED: true when this is a new session (the old one was LOST). */
  sessionChanged: boolean;
}

export type StateListener = (change: StateChange) => void;

export interface Acl {
  /** Any combination of 'c' 'd' 'r' 'w' 'a'. */
  perms: string;
  scheme: 'world' | 'auth' | 'digest' | 'ip';
  id: string;
}

export interface CreateOptions {
  mode?: CreateMode;
  /** Default: world:anyone with every permission. */
  acl?: Acl[];
}

export type Op =
  | { op: 'create'; path: string; data?: Buffer; mode?: CreateMode; acl?: Acl[] }
  | { op: 'set'; path: string; data: Buffer; version?: number }
  | { op: 'delete'; path: string; version?: number }
  | { op: 'check'; path: string; version: number };

export type OpResult =
  | { op: 'create'; path: string }
  | { op: 'set'; stat: Stat }
  | { op: 'delete' }
  | { op: 'check' };

export interface Coordination {
  /** The current connection state. */
  readonly state: ConnectionState;
  /** The current session id as 16 hex digits (changes after LOST). */
  readonly sessionId: string;
  /** The namespace root this view works under ('/' for none). */
  readonly root: string;

  /** Creates a node; returns its path (with the sequence suffix for sequential modes). */
  create(path: string, data?: Buffer, opts?: CreateOptions): Promise<string>;
  get(path: string, watcher?: Watcher): Promise<{ data: Buffer; stat: Stat }>;
  /**
   * Many gets without watches, in order: null where the node does not exist.
   * Any other error rejects with a ZkError naming the path and its index
   * (`opIndex`). One multiRead request per few hundred paths (ZooKeeper
   * 3.6+ and Drover; an older ZooKeeper answers UNIMPLEMENTED); not atomic,
   * as multiRead is not. Without the client's wire fast paths, a get per path.
   */
  getMany(paths: readonly string[]): Promise<({ data: Buffer; stat: Stat } | null)[]>;
  /** version -1 (the default) sets unconditionally. */
  set(path: string, data: Buffer, version?: number): Promise<Stat>;
  delete(path: string, version?: number): Promise<void>;
  /** The Stat, or null when the node does not exist; the watcher fires on create/delete/change. */
  exists(path: string, watcher?: Watcher): Promise<Stat | null>;
  children(path: string, watcher?: Watcher): Promise<string[]>;
  childrenWithStat(path: string, watcher?: Watcher): Promise<{ children: string[]; stat: Stat }>;
  /**
   * All or nothing. On failure rejects with a ZkError whose `opIndex` is the
   * index of the op that failed, and nothing was applied.
   */
  multi(ops: Op[]): Promise<OpResult[]>;
  getAcl(path: string): Promise<{ acl: Acl[]; stat: Stat }>;
  setAcl(path: string, acl: Acl[], version?: number): Promise<Stat>;
  addAuth(scheme: string, auth: string): void;
  /** Creates every missing persistent ancestor and the node itself; no error if it exists. */
  ensurePath(path: string): Promise<void>;
  /** Deletes a subtree, deepest first; no error if it does not exist. */
  deleteRecursive(path: string): Promise<void>;

  /** Registers a state listener; returns the function that removes it. */
  onState(listener: StateListener): () => void;
  /** Resolves once connected (CONNECTED or RECONNECTED), rejects after timeoutMs. */
  waitConnected(timeoutMs?: number): Promise<void>;
  /** A view whose paths live under `root` (relative to this view); it shares this session. */
  namespace(root: string): Coordination;
  /** Closes the session (ephemerals go at once). Idempotent. Views share it. */
  close(): Promise<void>;
}
