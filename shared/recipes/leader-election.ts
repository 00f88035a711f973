/**
 * Leader election by the lowest EPHEMERAL_SEQUENTIAL node (ZooKeeper's
 * recipe, Curator's LeaderLatch). Each candidate creates `<path>/c-NNNNNNNNNN`
 * holding its id; the lowest sequence leads. Every other candidate sets one
 * watch on its immediate predecessor only (a getData watch, which fires on
 * deletion like an exists watch but leaves nothing behind on a node already
 * gone), so a departure wakes one candidate, never the herd. The leader watches its own node, so it notices
 * if the node is deleted behind its back. Every candidate therefore holds
 * exactly one watch.
 *
 * Connection states:
 * - SUSPENDED: the leader reports not-leading at once (`onChange(false)`),
 *   because its session (and so its node) may expire at any moment, unseen.
 *   Nobody else can lead until that session really ends, so at most one
 *   candidate ever believes it leads.
 * - RECONNECTED, same session: the candidate reads the children again; if its
 *   node is still the lowest it leads again (`onChange(true)`).
 * - LOST (or RECONNECTED with a new session): its node is gone with the old
 *   session; the candidate re-enters with a new node at the back of the line
 *   once the client has a new session.
 * - CLOSED (the client was closed): the election stops, not leading.
 *
 * `id` must be unique per candidate: after a create whose reply was lost the
 * candidate adopts a node of its own session that carries its id, and a node
 * with its id right ahead of it (a duplicate, or its own node from a session
 * it already gave up as LOST) is deleted rather than waited for.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Coordination, Stat, StateChange, Watcher } from '../client/coordination.ts';
import { isZkError } from '../client/zk-error.ts';
import { DroverError } from '../errors.ts';
import { abortableWait, type WaitOptions } from './abortable-wait.ts';
import { isOutcomeUnknown } from './outcome-unknown.ts';
import { RetryTimer } from './retry-timer.ts';
import { baseName, childPath, sortSequential } from './sequential-nodes.ts';
import { SerialRunner } from './serial-runner.ts';
import { deleteEventually } from './eventual-delete.ts';
import { componentLogger, silentLogger } from '../log.ts';

/** The candidate name prefix (matches layout.schedulerCandidatePrefix). */
export const CANDIDATE_PREFIX = 'c-';

export interface LeaderElectionOptions {
  /** Stored in the candidate node; `leader()` returns it. Default: a random UUID. */
  id?: string;
  logger?: Logger;
}

export class LeaderElection {
  readonly id: string;
  private readonly log: Logger;
  private leading = false;
  private node: string | undefined;
  private started = false;
  /** While start() creates the first node: passes wait for it (start runs one right after). */
  private starting = false;
  private closed = false;
  private suspended = false;
  /** Bumped on every connection-state change: a pass that saw another epoch must not claim leadership. */
  private epoch = 0;
  /** The path our one watch is on, and in which session it was set. */
  private watched: { path: string; session: string } | undefined;
  /** Set when a create's outcome was unknown: look for our own node before creating again (cleared with the session). */
  private adopt = false;
  private readonly listeners = new Set<(leading: boolean) => void>();
  private readonly closeListeners = new Set<() => void>();
  private readonly runner: SerialRunner;
  private readonly retry: RetryTimer;
  private offState: (() => void) | undefined;

  constructor(
    private readonly client: Coordination,
    private readonly path: string,
    opts: LeaderElectionOptions = {},
  ) {
    this.id = opts.id ?? randomUUID();
    this.log = componentLogger(opts.logger ?? silentLogger, 'leader-election', { path, id: this.id });
    this.runner = new SerialRunner(
      () => this.evaluate(),
      (err) => this.onPassError(err),
    );
    this.retry = new RetryTimer(() => this.runner.trigger());
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** The full path of this candidate's node, while it has one. */
  get candidatePath(): string | undefined {
    return this.node;
  }

  /** Creates the candidate node and resolves after the first evaluation (leading or waiting). */
  async start(): Promise<void> {
    if (this.closed) throw new DroverError('DROVER_CLOSED', 'leader election is closed');
    if (this.started) throw new DroverError('DROVER_INVALID_ARGUMENT', 'leader election already started');
    this.started = true;
    this.starting = true;
    this.offState = this.client.onState((change) => this.onState(change));
    try {
      await this.client.ensurePath(this.path);
      await this.enter();
    } catch (err) {
      this.offState();
      this.offState = undefined;
      this.started = false;
      throw err;
    } finally {
      this.starting = false;
    }
    await this.runner.run();
  }

  /** Registers a listener for leadership changes; returns the function that removes it. */
  onChange(listener: (leading: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves when this candidate leads (at once if it does); DROVER_WAIT_TIMEOUT, DROVER_CANCELLED, DROVER_CLOSED otherwise. */
  waitForLeadership(opts: WaitOptions = {}): Promise<void> {
    return abortableWait('leadership', opts, ({ resolve, reject }) => {
      if (this.leading) resolve();
      else if (this.closed) reject(new DroverError('DROVER_CLOSED', 'leader election is closed'));
      const offChange = this.onChange((leading) => leading && resolve());
      const onClose = (): void => reject(new DroverError('DROVER_CLOSED', 'leader election is closed'));
      this.closeListeners.add(onClose);
      return () => {
        offChange();
        this.closeListeners.delete(onClose);
      };
    });
  }

  /** The id of the current leader (the lowest candidate), or null when there is none. */
  async leader(): Promise<string | null> {
    for (;;) {
      let children: string[];
      try {
        children = await this.client.children(this.path);
      } catch (err) {
        if (isZkError(err, 'NO_NODE')) return null;
        throw err;
      }
      const first = sortSequential(children, [CANDIDATE_PREFIX])[0];
      if (!first) return null;
      try {
        return (await this.client.get(childPath(this.path, first.name))).data.toString('utf8');
      } catch (err) {
        // It left between the listing and the read: the next one leads.
        if (!isZkError(err, 'NO_NODE')) throw err;
      }
    }
  }

  /** Leaves the election: not leading, the node deleted, waiters rejected with DROVER_CLOSED. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.retry.cancel();
    this.offState?.();
    this.setLeading(false);
    for (const l of [...this.closeListeners]) l();
    // Let a pass in flight finish so it cannot create a node after we delete ours.
    await this.runner.run();
    await this.dropNode();
  }

  private async dropNode(): Promise<void> {
    const node = this.node;
    this.node = undefined;
    if (node !== undefined) await deleteEventually(this.client, node, this.log);
  }


  private onState(change: StateChange): void {
    this.epoch++;
    switch (change.state) {
      case 'SUSPENDED':
        this.suspended = true;
        this.setLeading(false);
        return;
      case 'LOST':
        this.suspended = true;
        this.setLeading(false);
        this.forgetSession();
        return;
      case 'CONNECTED':
      case 'RECONNECTED':
        this.suspended = false;
        if (change.sessionChanged) this.forgetSession();
        this.log.debug({ state: change.state, sessionChanged: change.sessionChanged }, 're-evaluating');
        this.runner.trigger();
        return;
      case 'CLOSED':
        this.closed = true;
        this.retry.cancel();
        this.setLeading(false);
        for (const l of [...this.closeListeners]) l();
        return;
    }
  }

  /** The old session's node and watch are gone with it. */
  private forgetSession(): void {
    this.node = undefined;
    this.watched = undefined;
    this.adopt = false;
  }

  private async enter(): Promise<void> {
    const create = (): Promise<string> =>
      this.client.create(childPath(this.path, CANDIDATE_PREFIX), Buffer.from(this.id, 'utf8'), { mode: 'ephemeral_sequential' });
    try {
      try {
        this.node = await create();
      } catch (err) {
        if (!isZkError(err, 'NO_NODE')) throw err;
        await this.client.ensurePath(this.path);
        this.node = await create();
      }
      this.log.info({ node: this.node }, 'entered the election');
    } catch (err) {
      if (isOutcomeUnknown(err)) this.adopt = true;
      throw err;
    }
    if (this.closed) await this.dropNode();
  }

  /** One evaluation: ensure a node, find our place, lead or watch the predecessor. */
  private async evaluate(): Promise<void> {
    if (this.closed || this.suspended || !this.started || this.starting) return;
    const epoch = this.epoch;
    const session = this.client.sessionId;
    if (this.node === undefined && this.adopt) this.node = await this.findOwnNode();
    this.adopt = false;
    if (this.node === undefined) await this.enter();
    if (this.closed) return;
    const node = this.node;
    if (node === undefined) return;

    let children: string[];
    try {
      children = await this.client.children(this.path);
    } catch (err) {
      if (!isZkError(err, 'NO_NODE')) throw err;
      // The election's parent was deleted (with our node): recreate it and enter again.
      this.node = undefined;
      await this.client.ensurePath(this.path);
      this.runner.trigger();
      return;
    }
    const nodes = sortSequential(children, [CANDIDATE_PREFIX]);
    const mine = nodes.findIndex((n) => n.name === baseName(node));
    if (mine < 0) {
      // Deleted behind our back (or by an expired session): enter again.
      this.log.warn({ node }, 'candidate node vanished; re-entering');
      this.setLeading(false);
      this.node = undefined;
      this.runner.trigger();
      return;
    }
    const predecessor = mine === 0 ? undefined : nodes[mine - 1];
    const target = predecessor ? childPath(this.path, predecessor.name) : node;
    const read = await this.readWatched(target, session);
    if (read === null) {
      this.runner.trigger();
      return;
    }
    if (predecessor === undefined) {
      if (epoch === this.epoch && !this.suspended && !this.closed) this.setLeading(true);
      this.retry.reset();
      return;
    }
    this.setLeading(false);
    // Our id ahead of us: a create of ours whose reply was lost, or our own node from a
    // session we already gave up as LOST. Either would hold the line until it expires.
    if (read.data.toString('utf8') === this.id) {
      this.log.warn({ stale: target, owner: read.stat.ephemeralOwner }, 'deleting a stale candidate node with our id');
      await this.client.delete(target).catch((err: unknown) => {
        if (!isZkError(err, 'NO_NODE')) throw err;
      });
      this.runner.trigger();
      return;
    }
    this.retry.reset();
  }

  /**
   * Reads `target` with a watch: getData rather than exists, because on a
   * node that is already gone an exists would leave a creation watch behind
   * that never fires (sequence numbers are not reused), and the candidate
   * would hold two watches. No second callback when one is already set
   * there in this session (the server keeps one watch per path anyway).
   */
  private async readWatched(target: string, session: string): Promise<{ data: Buffer; stat: Stat } | null> {
    const already = this.watched?.path === target && this.watched.session === session;
    const token = { path: target, session };
    const watcher: Watcher | undefined = already
      ? undefined
      : () => {
          if (this.watched === token) this.watched = undefined;
          this.runner.trigger();
        };
    try {
      const read = await this.client.get(target, watcher);
      if (!already) this.watched = token;
      return read;
    } catch (err) {
      if (!isZkError(err, 'NO_NODE')) throw err;
      if (this.watched?.path === target) this.watched = undefined;
      return null;
    }
  }

  /** A node of our session with our id that is not our current node: left by a create whose reply was lost. */
  private async isOwnGhost(path: string): Promise<boolean> {
    if (path === this.node) return false;
    try {
      return (await this.client.get(path)).data.toString('utf8') === this.id;
    } catch (err) {
      if (isZkError(err, 'NO_NODE')) return false;
      throw err;
    }
  }

  /** After an unknown create outcome: our session's node carrying our id, if the create did happen. */
  private async findOwnNode(): Promise<string | undefined> {
    const session = this.client.sessionId;
    for (const n of sortSequential(await this.client.children(this.path), [CANDIDATE_PREFIX])) {
      const p = childPath(this.path, n.name);
      const stat = await this.client.exists(p);
      if (stat?.ephemeralOwner === session && (await this.isOwnGhost(p))) {
        this.log.info({ node: p }, 'adopted the node of a create whose reply was lost');
        return p;
      }
    }
    return undefined;
  }

  private onPassError(err: unknown): void {
    if (this.closed) return;
    this.log.warn({ err }, 'election pass failed; retrying');
    this.retry.schedule();
  }

  private setLeading(leading: boolean): void {
    if (this.leading === leading) return;
    this.leading = leading;
    this.log.info({ leading }, leading ? 'leading' : 'not leading');
    for (const l of [...this.listeners]) {
      try {
        l(leading);
      } catch (err) {
        this.log.error({ err }, 'leadership listener threw');
      }
    }
  }
}
