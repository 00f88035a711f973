/**
 * One worker's membership in one partitioned job, MetaQ-style.
 *
 * It joins partitions/<job>/members (EPHEMERAL_SEQUENTIAL, data: workerId),
 * watches the member list, and on every change runs one pass (serialized,
 * coalesced): compute the ranges (assign.ts), RELEASE what it should no
 * longer own (abort the handler, await it, then delete its owner node),
 * publish the assignment, then CLAIM its new partitions by creating
 * owners/p-<n> EPHEMERAL. An owner node that still exists belongs to a
 * member that has not released yet: watch it and claim when it goes. Owner
 * nodes are unique, so a partition never has two owners; and since a
 * handler stops before its owner node goes, a partition's handler never
 * runs in two members at once.
 *
 * SUSPENDED: every handler is aborted at once (the session may be expiring
 * and a new owner claiming); owner nodes are kept, and re-adopted on
 * RECONNECTED if the session survived. LOST: owner and member nodes are
 * gone with the session; the member rejoins (last in join order) when a new
 * session comes. close(): stops handlers, deletes owner nodes, leaves.
 */
import type { Logger } from 'pino';
import type { Coordination, StateChange } from '../../shared/client/coordination.ts';
import { isZkError } from '../../shared/client/zk-error.ts';
import { layout } from '../../shared/jobs/layout.ts';
import { SerialRunner } from '../../shared/recipes/serial-runner.ts';
import { baseName } from '../../shared/recipes/sequential-nodes.ts';
import { assignRanges, partitionsOf, type PartitionMemberRef } from './assign.ts';
import { publishAssignment } from './assignment-store.ts';
import { appendPartitionLog } from './partition-log.ts';
import type { PartitionHost } from './partition-host.ts';
import { deleteIfPresent } from '../../shared/client/absent-ok.ts';

export interface JobPartitionMemberOptions {
  host: PartitionHost;
  job: string;
  partitions: number;
  logger: Logger;
  /** A handler that returns (or fails) while still owning its partition is restarted after this, doubling to 30 s. */
  restartDelayMs?: number;
}

interface RunningPartition {
  abort: AbortController;
  done: Promise<void>;
  generation: number;
}

/** The owner node's data: who owns it, under which generation. */
export interface OwnerRecord {
  worker: string;
  member: string;
  generation: number;
  at: number;
}

const RESTART_DELAY_MS_MAX = 30_000;
/** After a failed pass (e.g. connection loss mid-way), try again after this. */
const PASS_RETRY_MS = 500;

export class JobPartitionMember {
  private readonly client: Coordination;
  private readonly log: Logger;
  private readonly runner: SerialRunner;
  private memberName: string | null = null;
  /** Owner nodes created in the current session. */
  private readonly held = new Set<number>();
  private readonly running = new Map<number, RunningPartition>();
  private readonly workers = new Map<string, string>();
  private generation = 0;
  private suspended = false;
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly opts: JobPartitionMemberOptions) {
    this.client = opts.host.client;
    this.log = opts.logger;
    this.runner = new SerialRunner(
      () => this.pass(),
      (err) => this.onPassError(err),
    );
  }

  /** This member's node name (m-NNNNNNNNNN) once joined. */
  get member(): string | null {
    return this.memberName;
  }

  /** The partitions whose handlers run here now. */
  owned(): number[] {
    return [...this.running.keys()].sort((a, b) => a - b);
  }

  async start(): Promise<void> {
    const { job } = this.opts;
    await this.client.ensurePath(layout.partitionMembers(job));
    await this.client.ensurePath(layout.partitionOwners(job));
    await this.client.ensurePath(layout.partitionLog(job));
    this.unsubscribe = this.client.onState((c) => this.onState(c));
    await this.runner.run();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe?.();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.runner.run(); // waits out a pass in flight; the new pass sees `closed` and returns
    await this.stopAll('close');
    if (this.client.state === 'CLOSED') return;
    for (const p of [...this.held]) await this.releaseOwner(p).catch((err: unknown) => this.log.warn({ err, partition: p }, 'owner release failed on close'));
    if (this.memberName) {
      await deleteIfPresent(this.client, `${layout.partitionMembers(this.opts.job)}/${this.memberName}`).catch((err: unknown) =>
        this.log.warn({ err }, 'leaving failed on close'),
      );
    }
  }

  private onState(change: StateChange): void {
    switch (change.state) {
      case 'SUSPENDED':
      case 'LOST':
        this.suspended = true;
        // Abort now, not in the next pass: the pass may be stuck on a request until reconnect.
        for (const r of this.running.values()) r.abort.abort(new Error(`session ${change.state}`));
        if (change.state === 'LOST') this.forgetSession();
        this.log.warn({ state: change.state, owned: this.owned() }, 'partition handlers stopped');
        this.runner.trigger();
        return;
      case 'CONNECTED':
      case 'RECONNECTED':
        this.suspended = false;
        if (change.sessionChanged) this.forgetSession();
        this.runner.trigger();
        return;
      case 'CLOSED':
        this.suspended = true;
        for (const r of this.running.values()) r.abort.abort(new Error('client closed'));
        return;
    }
  }

  /** Ephemerals die with the session: forget them so nothing acts on another session's nodes. */
  private forgetSession(): void {
    this.held.clear();
    this.memberName = null;
  }

  private onPassError(err: unknown): void {
    if (this.closed) return;
    this.log.warn({ err }, 'partition pass failed; retrying');
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.runner.trigger(), PASS_RETRY_MS);
  }

  private async pass(): Promise<void> {
    if (this.closed) return;
    if (this.suspended || (this.client.state !== 'CONNECTED' && this.client.state !== 'RECONNECTED')) {
      await this.stopAll('suspended');
      return;
    }
    const { job, partitions } = this.opts;
    const me = await this.join();
    const { children, stat } = await this.client.childrenWithStat(layout.partitionMembers(job), () => this.runner.trigger());
    const members = await this.readMembers(children);
    if (!members.some((m) => m.member === me)) {
      // Our node is gone while the session lives (deleted by hand): rejoin.
      this.memberName = null;
      this.runner.trigger();
      return;
    }
    const ranges = assignRanges(members, partitions);
    const mine = new Set(partitionsOf(ranges, me));

    // Release before claiming: stop the handler, then give the owner node up.
    for (const p of [...this.running.keys()]) if (!mine.has(p)) await this.stopHandler(p, 'rebalance');
    for (const p of [...this.held]) if (!mine.has(p)) await this.releaseOwner(p);

    const published = await publishAssignment(this.client, { job, partitions, ranges, membersVersion: stat.cversion, now: Date.now });
    if (published.stale) {
      // Someone saw a newer member list; our watch brings it to us. Claim nothing on an old view.
      this.runner.trigger();
      return;
    }
    this.generation = published.generation;
    if (published.change) {
      const { reason, moves } = published.change;
      this.log.info({ generation: published.generation, reason, moves: moves.length }, 'partition assignment changed');
      await appendPartitionLog(this.client, job, { v: 1, generation: published.generation, reason, moves, by: this.opts.host.workerId, at: Date.now() });
    }
    for (const p of [...mine].sort((a, b) => a - b)) if (!this.running.has(p)) await this.claim(p, me);
  }

  private async join(): Promise<string> {
    if (this.memberName) return this.memberName;
    const { job } = this.opts;
    try {
      const created = await this.client.create(layout.partitionMemberPrefix(job), Buffer.from(this.opts.host.workerId), { mode: 'ephemeral_sequential' });
      this.memberName = baseName(created);
    } catch (err) {
      // A sequential create lost in a connection drop may have happened: adopt it rather than leave a ghost member.
      const adopted = await this.findOwnMemberNode();
      if (!adopted) throw err;
      this.memberName = adopted;
    }
    this.log.info({ member: this.memberName }, 'joined partition members');
    return this.memberName;
  }

  private async findOwnMemberNode(): Promise<string | null> {
    const dir = layout.partitionMembers(this.opts.job);
    const names = await this.client.children(dir);
    const mine: string[] = [];
    for (const n of names) {
      const stat = await this.client.exists(`${dir}/${n}`);
      if (stat && stat.ephemeralOwner === this.client.sessionId) mine.push(n);
    }
    mine.sort();
    for (const extra of mine.slice(1)) await deleteIfPresent(this.client, `${dir}/${extra}`);
    return mine[0] ?? null;
  }

  private async readMembers(children: string[]): Promise<PartitionMemberRef[]> {
    const dir = layout.partitionMembers(this.opts.job);
    const out: PartitionMemberRef[] = [];
    for (const name of children) {
      if (!name.startsWith('m-')) continue;
      let worker = this.workers.get(name);
      if (worker === undefined) {
        try {
          worker = (await this.client.get(`${dir}/${name}`)).data.toString('utf8');
        } catch (err) {
          if (isZkError(err, 'NO_NODE')) continue; // left meanwhile; the watch brings the next pass
          throw err;
        }
        this.workers.set(name, worker); // member data never changes, so cache it
      }
      out.push({ member: name, worker });
    }
    for (const name of this.workers.keys()) if (!children.includes(name)) this.workers.delete(name);
    return out;
  }

  private async claim(p: number, me: string): Promise<void> {
    const path = layout.partitionOwner(this.opts.job, p);
    const record: OwnerRecord = { worker: this.opts.host.workerId, member: me, generation: this.generation, at: Date.now() };
    try {
      await this.client.create(path, Buffer.from(JSON.stringify(record)), { mode: 'ephemeral' });
      this.held.add(p);
    } catch (err) {
      if (!isZkError(err, 'NODE_EXISTS')) throw err;
      const stat = await this.client.exists(path, () => this.runner.trigger());
      if (stat === null) {
        this.runner.trigger(); // released between our create and exists: try again
        return;
      }
      if (stat.ephemeralOwner !== this.client.sessionId) {
        this.log.debug({ partition: p }, 'partition still owned by its previous member; waiting for its release');
        return;
      }
      this.held.add(p); // ours from before a SUSPENDED the session survived
    }
    this.startHandler(p);
  }

  private startHandler(p: number): void {
    const abort = new AbortController();
    const generation = this.generation;
    const { host, job } = this.opts;
    const done = (async () => {
      let failures = 0;
      while (!abort.signal.aborted) {
        let ok = false;
        try {
          const r = await host.runPartition({ job, partition: p, generation, signal: abort.signal });
          ok = r.ok;
          if (!r.ok) this.log.warn({ partition: p, error: r.error }, 'partition handler failed');
        } catch (err) {
          this.log.warn({ err, partition: p }, 'partition handler threw');
        }
        if (abort.signal.aborted) break;
        failures = ok ? 0 : failures + 1;
        const delay = Math.min(RESTART_DELAY_MS_MAX, (this.opts.restartDelayMs ?? 1000) * 2 ** failures);
        await abortableDelay(delay, abort.signal);
      }
    })();
    this.running.set(p, { abort, done, generation });
    this.log.info({ partition: p, generation }, 'partition claimed');
  }

  private async stopHandler(p: number, why: string): Promise<void> {
    const r = this.running.get(p);
    if (!r) return;
    r.abort.abort(new Error(why));
    await r.done;
    this.running.delete(p);
    this.log.info({ partition: p, why }, 'partition handler stopped');
  }

  private async stopAll(why: string): Promise<void> {
    for (const p of [...this.running.keys()]) await this.stopHandler(p, why);
  }

  private async releaseOwner(p: number): Promise<void> {
    await deleteIfPresent(this.client, layout.partitionOwner(this.opts.job, p));
    this.held.delete(p);
    this.log.info({ partition: p }, 'partition released');
  }

}

/** Resolves after ms, or at once when the signal aborts. */
function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
