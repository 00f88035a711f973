/**
 * A barrier that releases when `size` members have arrived: ZooKeeper's
 * synchronizing-queue pattern. Each member creates `<path>/m-<id>`
 * (EPHEMERAL) and sets an exists-watch on `<path>/ready`; a member that
 * counts `size` members after its own create (the last to arrive always
 * does: its read follows its write) creates `ready` (PERSISTENT), and that
 * one event wakes every waiter. `ready` stays, so the barrier stays released
 * for late readers; `reset()` removes it for reuse once everyone is through.
 * A wait that times out or is aborted before the release withdraws its
 * member, so a member that gave up never counts.
 *
 * Member nodes are named by id (not sequential) so that a create retried
 * after a lost reply cannot count one member twice; ids must be unique.
 *
 * Connection states:
 * - SUSPENDED: a waiter keeps waiting (its watch is re-armed by the client
 *   on reconnect); the barrier cannot release early because of it.
 * - LOST before release: the member's node is gone with its session, so it
 *   no longer counts; a waiter re-creates it on the new session and counts
 *   again. After release nothing depends on the session.
 * - CLOSED: waiters reject with DROVER_CLOSED.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Coordination } from '../client/coordination.ts';
import { isZkError } from '../client/zk-error.ts';
import { DroverError } from '../errors.ts';
import type { WaitOptions } from './abortable-wait.ts';
import { passReadyGate } from './ready-gate.ts';
import { childPath } from './sequential-nodes.ts';
import { deleteIfPresent } from '../client/absent-ok.ts';
import { componentLogger, silentLogger } from '../log.ts';

export const BARRIER_MEMBER_PREFIX = 'm-';
export const BARRIER_READY = 'ready';

export interface BarrierOptions {
  /** How many members release the barrier. */
  size: number;
  /** This member's id, unique among the members. Default: a random UUID. */
  id?: string;
  logger?: Logger;
}

export class Barrier {
  readonly id: string;
  readonly size: number;
  private readonly log: Logger;
  private readonly memberPath: string;
  private readonly readyPath: string;

  constructor(
    private readonly client: Coordination,
    private readonly path: string,
    opts: BarrierOptions,
  ) {
    if (!Number.isInteger(opts.size) || opts.size < 1) throw new DroverError('DROVER_INVALID_ARGUMENT', `barrier size must be a positive integer, got ${opts.size}`);
    this.size = opts.size;
    this.id = opts.id ?? randomUUID();
    this.memberPath = childPath(path, `${BARRIER_MEMBER_PREFIX}${this.id}`);
    this.readyPath = childPath(path, BARRIER_READY);
    this.log = componentLogger(opts.logger ?? silentLogger, 'barrier', { path, id: this.id });
  }

  /** Arrives and waits until `size` members have arrived (at once if the barrier is already released). */
  async wait(opts: WaitOptions = {}): Promise<void> {
    await this.client.ensurePath(this.path);
    await passReadyGate(
      this.client,
      {
        readyPath: this.readyPath,
        size: this.size,
        what: 'barrier',
        openedMessage: 'released the barrier',
        // Already released: nothing to wait for, and no member to leave behind.
        arriveWhenOpen: false,
        log: this.log,
        arrive: () => this.arrive(),
        count: () => this.arrivedCount(),
        withdraw: () => this.leave(),
      },
      opts,
    );
  }

  /** Whether the barrier has released. */
  async isReleased(): Promise<boolean> {
    return (await this.client.exists(this.readyPath)) !== null;
  }

  /** How many members are present now. */
  async arrivedCount(): Promise<number> {
    try {
      return (await this.client.children(this.path)).filter((n) => n.startsWith(BARRIER_MEMBER_PREFIX)).length;
    } catch (err) {
      if (isZkError(err, 'NO_NODE')) return 0;
      throw err;
    }
  }

  /** Removes this member's node (after release, so it no longer lingers with the session). */
  async leave(): Promise<void> {
    await deleteIfPresent(this.client, this.memberPath);
  }

  /** Un-releases the barrier for another round; call once every member is through. */
  async reset(): Promise<void> {
    await deleteIfPresent(this.client, this.readyPath);
  }

  private async arrive(): Promise<void> {
    try {
      await this.client.create(this.memberPath, Buffer.from(this.id), { mode: 'ephemeral' });
    } catch (err) {
      // Already here: an earlier try (or a retry) created it in this session.
      if (!isZkError(err, 'NODE_EXISTS')) throw err;
    }
  }
}
