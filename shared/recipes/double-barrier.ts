/**
 * A double barrier (ZooKeeper's recipes doc): `enter()` waits until `size`
 * members have entered, so they start together; `leave()` waits until every
 * member has left, so a follow-up can start only when all are done (map ->
 * reduce). Members are `<path>/m-<id>` (EPHEMERAL, named by id so a retried
 * create cannot count twice); entry is signalled by `<path>/ready`.
 *
 * Leave, as the recipe has it, without a herd: the lowest member waits on
 * the highest; every other member deletes its node and waits on the lowest;
 * the lowest leaves last, which releases everyone still waiting.
 *
 * An enter that times out or is aborted before entry withdraws its member.
 *
 * One round per path: `ready` stays after the round (a late reader sees the
 * barrier was entered), so use a fresh path (e.g. with a round number) for
 * the next round.
 *
 * Connection states:
 * - SUSPENDED: waits continue; watches are re-armed by the client.
 * - LOST while entering: the member's node is gone and no longer counts;
 *   it is re-created on the new session. LOST while leaving: the node is
 *   gone, which is what leaving does; the member then waits like any other.
 * - CLOSED: waits reject with DROVER_CLOSED.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Coordination } from '../client/coordination.ts';
import { isZkError } from '../client/zk-error.ts';
import { DroverError } from '../errors.ts';
import { remainingOf, type WaitOptions } from './abortable-wait.ts';
import { isConnectionTrouble } from './connection-checks.ts';
import { passReadyGate } from './ready-gate.ts';
import { childPath } from './sequential-nodes.ts';
import { WatchWait } from './watch-wait.ts';
import { deleteIfPresent } from '../client/absent-ok.ts';
import { componentLogger, silentLogger } from '../log.ts';

export const DOUBLE_BARRIER_MEMBER_PREFIX = 'm-';
export const DOUBLE_BARRIER_READY = 'ready';

export interface DoubleBarrierOptions {
  size: number;
  /** Unique among the members. Default: a random UUID. */
  id?: string;
  logger?: Logger;
}

export class DoubleBarrier {
  readonly id: string;
  readonly size: number;
  private readonly log: Logger;
  private readonly name: string;
  private readonly memberPath: string;
  private readonly readyPath: string;

  constructor(
    private readonly client: Coordination,
    private readonly path: string,
    opts: DoubleBarrierOptions,
  ) {
    if (!Number.isInteger(opts.size) || opts.size < 1) throw new DroverError('DROVER_INVALID_ARGUMENT', `double barrier size must be a positive integer, got ${opts.size}`);
    this.size = opts.size;
    this.id = opts.id ?? randomUUID();
    this.name = `${DOUBLE_BARRIER_MEMBER_PREFIX}${this.id}`;
    this.memberPath = childPath(path, this.name);
    this.readyPath = childPath(path, DOUBLE_BARRIER_READY);
    this.log = componentLogger(opts.logger ?? silentLogger, 'double-barrier', { path, id: this.id });
  }

  /** Enters and waits until `size` members have entered. */
  async enter(opts: WaitOptions = {}): Promise<void> {
    await this.client.ensurePath(this.path);
    await passReadyGate(
      this.client,
      {
        readyPath: this.readyPath,
        size: this.size,
        what: 'double barrier enter',
        openedMessage: 'entry released',
        // Entry already released: still arrive, so leave() waits for this member too.
        arriveWhenOpen: true,
        log: this.log,
        arrive: () => this.createMember(),
        count: async () => (await this.members()).length,
        withdraw: () => this.deleteMember(),
      },
      opts,
    );
  }

  /** Leaves and waits until every member has left. */
  async leave(opts: WaitOptions = {}): Promise<void> {
    const remaining = remainingOf(opts);
    for (;;) {
      const gone = new WatchWait();
      let errored = false;
      try {
        const members = await this.members();
        const lowest = members[0];
        const highest = members[members.length - 1];
        if (lowest === undefined || highest === undefined) return;
        if (members.length === 1 && lowest === this.name) {
          await this.deleteMember();
          this.log.info('left last');
          return;
        }
        // The lowest leaves last: it waits for the highest; everyone else goes and waits for the lowest.
        let target: string;
        if (lowest === this.name) target = highest;
        else {
          await this.deleteMember();
          target = lowest;
        }
        // getData, not exists: on a node already gone it leaves no creation watch behind.
        try {
          await this.client.get(childPath(this.path, target), gone.watcher);
        } catch (err) {
          if (isZkError(err, 'NO_NODE')) continue;
          throw err;
        }
      } catch (err) {
        if (!isConnectionTrouble(err)) throw err;
        errored = true;
      }
      await gone.wait(this.client, 'double barrier leave', { ...remaining(), afterError: errored });
    }
  }

  /** The member names present now, sorted. */
  private async members(): Promise<string[]> {
    try {
      return (await this.client.children(this.path)).filter((n) => n.startsWith(DOUBLE_BARRIER_MEMBER_PREFIX)).sort();
    } catch (err) {
      if (isZkError(err, 'NO_NODE')) return [];
      throw err;
    }
  }

  private async createMember(): Promise<void> {
    await this.client.create(this.memberPath, Buffer.from(this.id), { mode: 'ephemeral' }).catch((err: unknown) => {
      if (!isZkError(err, 'NODE_EXISTS')) throw err;
    });
  }

  private async deleteMember(): Promise<void> {
    await deleteIfPresent(this.client, this.memberPath);
  }
}
