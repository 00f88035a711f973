/**
 * Group membership: each member is `<path>/<id>` (EPHEMERAL) holding its
 * data; everyone (members and observers) sees the current members through
 * a ChildrenCache and is told of every change with the full member map.
 *
 * Connection states:
 * - SUSPENDED: the member's node stays while the session survives; the
 *   member list is kept as last seen (possibly stale), no events.
 * - LOST: the node is gone with the session, so others see the member
 *   leave; once the client has a new session the member joins again (if the
 *   old session's node still lingers, it waits for it to expire). A member
 *   whose node is deleted by someone else also joins again.
 * - CLOSED: the cache stops; `close()` leaves the group.
 */
import type { Logger } from 'pino';
import type { Coordination } from '../client/coordination.ts';
import { isZkError } from '../client/zk-error.ts';
import { DroverError } from '../errors.ts';
import { NAME_PATTERN } from '../jobs/layout.ts';
import { ChildrenCache } from './children-cache.ts';
import { isConnected } from './connection-checks.ts';
import { deleteEventually } from './eventual-delete.ts';
import { ListenerSet } from './listener-set.ts';
import { childPath } from './sequential-nodes.ts';
import { componentLogger, silentLogger } from '../log.ts';

export interface GroupMembershipOptions {
  /** This member's id: a safe znode name, unique in the group. Needed only to join. */
  id?: string;
  /** The data others see for this member. */
  data?: Buffer;
  logger?: Logger;
}

export class GroupMembership {
  private readonly log: Logger;
  private readonly cache: ChildrenCache;
  private readonly changes: ListenerSet<[Map<string, Buffer>]>;
  private data: Buffer;
  private started = false;
  private joined = false;
  private closed = false;
  private offState: (() => void) | undefined;

  constructor(
    private readonly client: Coordination,
    private readonly path: string,
    private readonly opts: GroupMembershipOptions = {},
  ) {
    if (opts.id !== undefined && !NAME_PATTERN.test(opts.id)) throw new DroverError('DROVER_INVALID_ARGUMENT', `member id ${JSON.stringify(opts.id)} is not a safe znode name`);
    this.data = opts.data ?? Buffer.alloc(0);
    this.log = componentLogger(opts.logger ?? silentLogger, 'group-membership', { path, id: opts.id });
    this.cache = new ChildrenCache(client, path, { logger: this.log });
    this.changes = new ListenerSet(this.log, 'change');
    const changed = (): void => {
      if (this.cache.isInitialized) this.changes.emit(this.members());
    };
    this.cache.onAdded(changed);
    this.cache.onUpdated(changed);
    this.cache.onRemoved((name) => {
      changed();
      if (name === this.opts.id && this.joined && !this.closed) void this.rejoin();
    });
  }

  /** Starts watching the group without joining it. */
  async start(): Promise<void> {
    if (this.closed) throw new DroverError('DROVER_CLOSED', 'group membership is closed');
    if (this.started) return;
    this.started = true;
    // A new session lost our node (the cache may never have seen it): join again.
    this.offState = this.client.onState((c) => {
      if (c.state === 'RECONNECTED' && c.sessionChanged && this.joined && !this.closed) void this.rejoin();
    });
    await this.client.ensurePath(this.path);
    await this.cache.start();
  }

  /** Joins the group (and starts watching it). */
  async join(): Promise<void> {
    const id = this.opts.id;
    if (id === undefined) throw new DroverError('DROVER_INVALID_ARGUMENT', 'joining a group needs an id');
    await this.start();
    this.joined = true;
    await this.createNode();
  }

  /** Replaces this member's data. */
  async setData(data: Buffer): Promise<void> {
    this.data = data;
    if (this.joined && this.opts.id !== undefined) await this.client.set(childPath(this.path, this.opts.id), data);
  }

  /** The current members: id -> data (as last seen; synchronous). */
  members(): Map<string, Buffer> {
    return new Map([...this.cache.current()].map(([name, node]) => [name, node.data]));
  }

  /** Called with the full member map after every change (after the initial load). */
  onChange(listener: (members: Map<string, Buffer>) => void): () => void {
    return this.changes.add(listener);
  }

  /** Leaves the group (deletes the node) and stops watching. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const wasJoined = this.joined;
    this.joined = false;
    this.offState?.();
    await this.cache.close();
    if (wasJoined && this.opts.id !== undefined) {
      await deleteEventually(this.client, childPath(this.path, this.opts.id), this.log);
    }
  }

  private async createNode(): Promise<void> {
    const id = this.opts.id as string;
    try {
      await this.client.create(childPath(this.path, id), this.data, { mode: 'ephemeral' });
      this.log.info('joined');
    } catch (err) {
      if (!isZkError(err, 'NODE_EXISTS')) throw err;
      // Ours (a retried create) is fine. Another session's is our old session's not yet
      // expired, or a duplicate id: join once it goes.
      const own = childPath(this.path, id);
      const stat = await this.client.exists(own);
      if (stat?.ephemeralOwner === this.client.sessionId) return;
      const watched = stat && (await this.client.exists(own, () => this.joined && !this.closed && void this.rejoin()));
      if (!watched) await this.createNode();
      else this.log.warn({ owner: watched.ephemeralOwner }, 'member id held by another session; joining when it goes');
    }
  }

  private async rejoin(): Promise<void> {
    if (!isConnected(this.client)) return; // the cache reports the removal again after reconnecting if still gone
    try {
      await this.createNode();
    } catch (err) {
      this.log.warn({ err }, 're-joining failed');
    }
  }
}
