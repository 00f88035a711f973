/**
 * The data tree and its one deterministic mutation, `apply(header, txn)`.
 *
 * Replay during recovery may see a txn whose effect a snapshot already
 * holds, so apply is idempotent the way ZooKeeper's is: a create of an
 * existing path or a delete of a missing one changes nothing, versions are
 * absolute, and the parent's cversion only moves forward.
 */
import type { Acl, Stat } from '../protocol/records.ts';
import type { Txn, TxnHeader } from '../txn/txn.ts';
import { Znode, kindOf, ttlOf } from './znode.ts';
import { AclCache } from './acl-cache.ts';
import { baseName, parentOf } from './path.ts';
import { JuteWriter } from '../protocol/writer.ts';
import { JuteReader } from '../protocol/reader.ts';
import { Perm } from '../protocol/opcodes.ts';

/** 1 NodeCreated(path), 2 NodeDeleted(path), 3 NodeDataChanged(path), 4 NodeChildrenChanged(parent). */
export interface TreeEvent {
  type: 1 | 2 | 3 | 4;
  path: string;
  /**
   * The ACL of the node `path` names, as it was when the event arose (a deleted
   * node's last ACL): an event goes only to watchers that may READ it
   * (ZooKeeper 3.8.4, ZOOKEEPER-4799), so it has to travel with the event.
   */
  acl: readonly Acl[];
}

export type TxnResult =
  | { kind: 'create'; path: string; stat: Stat }
  | { kind: 'stat'; stat: Stat }
  | { kind: 'none' }
  | { kind: 'error'; err: number }
  | { kind: 'multi'; results: TxnResult[] };

export interface ApplyResult {
  events: TreeEvent[];
  result: TxnResult;
}

const OPEN_ACL: Acl[] = [{ perms: Perm.all, id: { scheme: 'world', id: 'anyone' } }];
const READ_ACL: Acl[] = [{ perms: Perm.read, id: { scheme: 'world', id: 'anyone' } }];
const NONE: TxnResult = { kind: 'none' };
const SNAPSHOT_MAGIC = 0x44545231; // "DTR1"
const CONFIG_PATH = '/zookeeper/config';

export class DataTree {
  private readonly nodes = new Map<string, Znode>();
  private readonly acls = new AclCache();
  private readonly ephemerals = new Map<bigint, Set<string>>();
  private readonly containers = new Set<string>();
  private readonly ttls = new Set<string>();
  lastZxid = 0;
  approximateDataSize = 0;

  constructor(empty = false) {
    if (empty) return;
    this.nodes.set('/', this.systemNode(OPEN_ACL));
    this.addSystemChild('/zookeeper', OPEN_ACL);
    this.addSystemChild('/zookeeper/quota', OPEN_ACL);
    this.addSystemChild('/zookeeper/config', READ_ACL);
  }

  private systemNode(acl: Acl[]): Znode {
    return new Znode(null, this.acls.intern(acl), 0, 0, 0, 0, 0, 0, 0, 0n, 0);
  }

  private addSystemChild(path: string, acl: Acl[]): void {
    // ZooKeeper links the system nodes without counting them in the parent's cversion.
    const node = this.systemNode(acl);
    this.nodes.set(path, node);
    this.nodes.get(parentOf(path))?.addChild(baseName(path), node);
    this.approximateDataSize += path.length;
  }

  get(path: string): Znode | undefined {
    return this.nodes.get(path);
  }

  /** As ZooKeeper counts it: its map also holds "" for the root. */
  get nodeCount(): number {
    return this.nodes.size + 1;
  }

  get ephemeralCount(): number {
    let n = 0;
    for (const s of this.ephemerals.values()) n += s.size;
    return n;
  }

  statOf(node: Znode): Stat {
    const numChildren = node.numChildren;
    return {
      czxid: node.czxid,
      mzxid: node.mzxid,
      ctime: node.ctime,
      mtime: node.mtime,
      version: node.version,
      // Stored: creations only. Shown: creations + deletions (ZOOKEEPER-1046).
      cversion: node.cversion * 2 - numChildren,
      aversion: node.aversion,
      // Clients see 0 for containers and TTL nodes; the marker stays internal.
      ephemeralOwner: isClientVisibleOwner(node.ephemeralOwner) ? node.ephemeralOwner : 0n,
      dataLength: node.data === null ? 0 : node.data.length,
      numChildren,
      pzxid: node.pzxid,
    };
  }

  children(node: Znode): string[] {
    return [...node.children.keys()];
  }

  ephemeralsOf(sessionId: bigint): ReadonlySet<string> {
    return this.ephemerals.get(sessionId) ?? EMPTY_SET;
  }

  sessionsWithEphemerals(): Iterable<[bigint, ReadonlySet<string>]> {
    return this.ephemerals.entries();
  }

  /** Every descendant of `path` (not counting it); iterative, since depth is user-controlled. */
  allChildrenNumber(path: string): number {
    const start = this.nodes.get(path);
    if (!start) return 0;
    let count = 0;
    const stack: string[] = [path];
    while (stack.length > 0) {
      const p = stack.pop() as string;
      const node = this.nodes.get(p);
      if (!node) continue;
      for (const name of node.children.keys()) {
        count++;
        stack.push(p === '/' ? '/' + name : p + '/' + name);
      }
    }
    return count;
  }

  /** Empty containers that once had a child. */
  containersToDelete(): string[] {
    const out: string[] = [];
    for (const p of this.containers) {
      const n = this.nodes.get(p);
      if (n && n.children.size === 0 && n.cversion > 0) out.push(p);
    }
    return out;
  }

  /** Childless TTL nodes not modified for longer than their TTL. */
  ttlExpired(now: number): string[] {
    const out: string[] = [];
    for (const p of this.ttls) {
      const n = this.nodes.get(p);
      if (n && n.children.size === 0 && now - n.mtime > ttlOf(n.ephemeralOwner)) out.push(p);
    }
    return out;
  }

  // ------------------------------------------------------------ apply

  apply(header: TxnHeader, txn: Txn): ApplyResult {
    const events: TreeEvent[] = [];
    const result = this.applyOne(header, txn, events);
    if (header.zxid > this.lastZxid) this.lastZxid = header.zxid;
    return { events, result };
  }

  private applyOne(h: TxnHeader, txn: Txn, events: TreeEvent[]): TxnResult {
    switch (txn.type) {
      case 'create':
        return this.create(h, txn.path, txn.data, txn.acl, txn.ephemeralOwner, txn.parentCVersion, events);
      case 'delete':
        this.delete(h.zxid, txn.path, events);
        return NONE;
      case 'setData': {
        const node = this.nodes.get(txn.path);
        if (!node) return NONE;
        this.approximateDataSize += (txn.data?.length ?? 0) - (node.data?.length ?? 0);
        node.data = txn.data;
        node.version = txn.version;
        node.mzxid = h.zxid;
        node.mtime = h.time;
        events.push({ type: 3, path: txn.path, acl: node.acl });
        return { kind: 'stat', stat: this.statOf(node) };
      }
      case 'setACL': {
        const node = this.nodes.get(txn.path);
        if (!node) return NONE;
        node.acl = this.acls.intern(txn.acl);
        node.aversion = txn.version;
        return { kind: 'stat', stat: this.statOf(node) };
      }
      case 'closeSession':
        for (const p of txn.paths) this.delete(h.zxid, p, events);
        this.ephemerals.delete(h.sessionId);
        return NONE;
      case 'multi':
        return { kind: 'multi', results: txn.txns.map((t) => this.applyOne(h, t, events)) };
      case 'error':
        return { kind: 'error', err: txn.err };
      case 'reconfig': {
        const node = this.setConfigNode(txn.data, h.zxid, h.time);
        events.push({ type: 3, path: CONFIG_PATH, acl: node.acl });
        return { kind: 'stat', stat: this.statOf(node) };
      }
      case 'check':
      case 'createSession':
        return NONE;
    }
  }

  /**
   * `/zookeeper/config` holds the configuration in force: set by a committed
   * reconfig, and by a member itself from its configuration (ZooKeeper's
   * initConfigInZKDatabase: the one in zoo.cfg was never a txn). Version -1
   * and the config's zxid as mzxid, as ZooKeeper writes it.
   */
  setConfigNode(data: Buffer, zxid: number, time: number): Znode {
    let node = this.nodes.get(CONFIG_PATH);
    if (!node) {
      this.addSystemChild(CONFIG_PATH, READ_ACL);
      node = this.nodes.get(CONFIG_PATH) as Znode;
    }
    this.approximateDataSize += data.length - (node.data?.length ?? 0);
    node.data = data;
    node.version = -1;
    node.mzxid = zxid;
    node.mtime = time;
    return node;
  }

  private create(
    h: TxnHeader,
    path: string,
    data: Buffer | null,
    acl: Acl[],
    owner: bigint,
    parentCVersion: number,
    events: TreeEvent[],
  ): TxnResult {
    const parentPath = parentOf(path);
    const parent = this.nodes.get(parentPath);
    const existing = this.nodes.get(path);
    if (!parent || existing) {
      // Replaying over a fuzzy snapshot: the node is there, but the parent may predate it.
      if (parent && parentCVersion > parent.cversion) {
        parent.cversion = parentCVersion;
        if (h.zxid > parent.pzxid) parent.pzxid = h.zxid;
      }
      // Or the parent is younger than it: the snapshot held a node and its child made after the
      // snapshot began; replaying the parent's earlier delete and create left the child unlinked.
      const name = path.slice(parentPath.length === 1 ? 1 : parentPath.length + 1);
      if (parent && existing && parent.children.get(name) !== existing) parent.addChild(name, existing);
      return existing ? { kind: 'create', path, stat: this.statOf(existing) } : NONE;
    }
    const node = new Znode(data, this.acls.intern(acl), h.zxid, h.zxid, h.time, h.time, 0, 0, 0, owner, h.zxid);
    this.nodes.set(path, node);
    parent.addChild(path.slice(parentPath.length === 1 ? 1 : parentPath.length + 1), node);
    if (parentCVersion > parent.cversion) {
      parent.cversion = parentCVersion;
      parent.pzxid = h.zxid;
    }
    this.approximateDataSize += path.length + (data?.length ?? 0);
    this.indexFor(owner, true)?.add(path);
    events.push({ type: 1, path, acl: node.acl }, { type: 4, path: parentPath, acl: parent.acl });
    return { kind: 'create', path, stat: this.statOf(node) };
  }

  private delete(zxid: number, path: string, events: TreeEvent[]): void {
    const node = this.nodes.get(path);
    if (!node) {
      // Replay of a delete a fuzzy snapshot already holds: only the parent's pzxid may lag.
      const parent = this.nodes.get(parentOf(path));
      if (parent && zxid > parent.pzxid) parent.pzxid = zxid;
      return;
    }
    this.nodes.delete(path);
    const parentPath = parentOf(path);
    const parent = this.nodes.get(parentPath);
    if (parent) {
      parent.removeChild(baseName(path));
      if (zxid > parent.pzxid) parent.pzxid = zxid;
    }
    this.approximateDataSize -= path.length + (node.data?.length ?? 0);
    const index = this.indexFor(node.ephemeralOwner, false);
    index?.delete(path);
    if (index?.size === 0 && kindOf(node.ephemeralOwner) === 'ephemeral') this.ephemerals.delete(node.ephemeralOwner);
    // A missing parent (only in replay over a fuzzy snapshot) has nothing left to protect.
    events.push({ type: 2, path, acl: node.acl }, { type: 4, path: parentPath, acl: parent?.acl ?? [] });
  }

  /** The set that indexes nodes of this owner kind: a session's ephemerals, containers, TTL nodes. */
  private indexFor(owner: bigint, create: boolean): Set<string> | undefined {
    switch (kindOf(owner)) {
      case 'ephemeral': {
        let set = this.ephemerals.get(owner);
        if (!set && create) this.ephemerals.set(owner, (set = new Set()));
        return set;
      }
      case 'container':
        return this.containers;
      case 'ttl':
        return this.ttls;
      case 'persistent':
        return undefined;
    }
  }

  // ------------------------------------------------------------ snapshots

  /** Starts a snapshot that can be written a slice at a time while the tree keeps changing. */
  snapshotCursor(): SnapshotCursor {
    return new SnapshotCursor(this);
  }

  /** The whole snapshot at once (tests, small trees). */
  serialize(): Buffer {
    const c = this.snapshotCursor();
    while (!c.step(Number.MAX_SAFE_INTEGER));
    return Buffer.concat(c.finish());
  }

  static deserialize(buf: Buffer): DataTree {
    return DataTree.readFrom(new JuteReader(buf));
  }

  /** Reads a snapshot's tree, leaving the reader just past its end marker. */
  static readFrom(r: JuteReader): DataTree {
    if (r.int() !== SNAPSHOT_MAGIC) throw new RangeError('not a data tree snapshot');
    const tree = new DataTree(true);
    tree.lastZxid = r.long();
    const events: TreeEvent[] = [];
    while (r.bool()) {
      const path = r.ustring();
      const data = r.bufferCopy();
      const acl = r.aclVector();
      const czxid = r.long();
      const mzxid = r.long();
      const ctime = r.long();
      const mtime = r.long();
      const version = r.int();
      const cversion = r.int();
      const aversion = r.int();
      const owner = r.longBig();
      const pzxid = r.long();
      if (path === '/') {
        tree.nodes.set('/', new Znode(data, tree.acls.intern(acl), czxid, mzxid, ctime, mtime, version, cversion, aversion, owner, pzxid));
        continue;
      }
      if (!tree.nodes.has(parentOf(path))) throw new RangeError(`snapshot lists ${path} before its parent`);
      // Insert through create() so every index is rebuilt, then restore the exact stat.
      tree.create({ sessionId: 0n, cxid: 0, zxid: czxid, time: ctime }, path, data, acl, owner, -1, events);
      const node = tree.nodes.get(path) as Znode;
      node.mzxid = mzxid;
      node.mtime = mtime;
      node.version = version;
      node.cversion = cversion;
      node.aversion = aversion;
      node.pzxid = pzxid;
      events.length = 0;
    }
    return tree;
  }
}

const EMPTY_SET: ReadonlySet<string> = new Set();
const NO_ENTRIES: readonly [string, Znode][] = [];

function isClientVisibleOwner(owner: bigint): boolean {
  const k = kindOf(owner);
  return k === 'ephemeral' || k === 'persistent';
}

/**
 * A fuzzy snapshot in slices, as ZooKeeper takes them: nodes are written
 * breadth-first (a parent always before its children) while writes go on;
 * the log after the starting zxid is replayed over it, and replay is
 * idempotent. Layout: magic int | zxid long | then per node a true bool and
 * path ustring | data buffer | acl vector | czxid mzxid ctime mtime long |
 * version cversion(stored) aversion int | ephemeralOwner long | pzxid long;
 * a false bool ends it.
 */
/** Interned ACL lists (AclCache) are shared by many nodes: their snapshot bytes are made once. */
const aclBytes = new WeakMap<readonly Acl[], Buffer>();

function aclBytesOf(acl: readonly Acl[]): Buffer {
  let b = aclBytes.get(acl);
  if (!b) {
    b = new JuteWriter(64, false).aclVector(acl).bytes();
    aclBytes.set(acl, Buffer.from(b));
  }
  return b;
}

export class SnapshotCursor {
  /** Written nodes whose children are still to visit, oldest first. */
  private parents: string[] = [];
  private head = 0;
  /** The children of parents[head] being walked; kept across slices (a node may have 10^6 children). */
  private walking: Iterator<[string, Znode]> | null = null;
  private rootDone = false;
  /** The next slice's first buffer size. */
  private sliceBytes = 256 * 1024;
  /** One chunk per slice: no buffer ever grows to the size of the whole tree. */
  private readonly chunks: Buffer[] = [];
  readonly zxid: number;

  constructor(private readonly tree: DataTree) {
    this.zxid = tree.lastZxid;
    this.chunks.push(new JuteWriter(16, false).int(SNAPSHOT_MAGIC).long(this.zxid).bytes());
  }

  private write(w: JuteWriter, p: string, node: Znode): void {
    // One capacity check and the interned ACL's bytes made once: field by field this was ~3 µs a
    // node, and a snapshot is every node of the tree (issue 11's bench: 13-26% of a member's CPU).
    const data = node.data;
    const acl = aclBytesOf(node.acl);
    w.nodeRecord(p, data, acl, node.czxid, node.mzxid, node.ctime, node.mtime, node.version, node.cversion, node.aversion, node.ephemeralOwner, node.pzxid);
    if (node.numChildren > 0) this.parents.push(p);
  }

  /** Writes up to `budget` nodes; true when every node has been visited. */
  step(budget: number): boolean {
    // Sized by the last slice: growing from a small buffer copied most of each slice twice.
    const w = new JuteWriter(this.sliceBytes, false);
    let n = budget;
    if (!this.rootDone) {
      this.rootDone = true;
      const root = this.tree.get('/');
      if (root) this.write(w, '/', root);
      n--;
    }
    while (n > 0 && this.head < this.parents.length) {
      const parent = this.parents[this.head] as string;
      if (this.walking === null) {
        const node = this.tree.get(parent);
        // Deleted since it was written: its children are gone too, and replay settles it.
        this.walking = node ? node.children.entries() : NO_ENTRIES[Symbol.iterator]();
      }
      const next = this.walking.next();
      if (next.done) {
        this.walking = null;
        this.head++;
        continue;
      }
      const [name, node] = next.value;
      this.write(w, parent === '/' ? '/' + name : parent + '/' + name, node);
      n--;
    }
    const bytes = w.bytes();
    this.chunks.push(bytes);
    this.sliceBytes = Math.max(this.sliceBytes, Math.min(bytes.length + (bytes.length >> 3), 16 * 1024 * 1024));
    if (this.head > 65536) {
      this.parents = this.parents.slice(this.head);
      this.head = 0;
    }
    return this.head >= this.parents.length;
  }

  /** The snapshot's chunks, in order, with the end marker. */
  finish(): Buffer[] {
    this.chunks.push(Buffer.from([0]));
    return this.chunks;
  }
}
