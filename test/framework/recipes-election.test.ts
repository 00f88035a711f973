/**
 * Leader election on both backends: one leader, orderly and abrupt
 * handover, one watch per candidate (no herd), SUSPENDED stops leading and
 * LOST re-enters with a new node.
 */
import { expect, it } from 'vitest';
import { describeOnBackends, nextEvent, until, nextState } from '../helpers/backends.ts';
import type { Coordination } from '../../shared/client/coordination.ts';
import { LeaderElection } from '../../shared/recipes/leader-election.ts';
import { isDroverError } from '../../shared/errors.ts';
import { watchedPaths } from './recipes-watch-count.ts';

const PATH = '/election';

function nextLeading(e: LeaderElection, leading: boolean, what: string): Promise<boolean> {
  return nextEvent(what, (d) => {
    const off = e.onChange((l) => {
      if (l === leading) {
        off();
        d(l);
      }
    });
  });
}


describeOnBackends('recipes: leader election', (env) => {
  async function candidates(n: number): Promise<{ clients: Coordination[]; elections: LeaderElection[] }> {
    const clients: Coordination[] = [];
    const elections: LeaderElection[] = [];
    for (let i = 0; i < n; i++) {
      const c = await env.client();
      const e = new LeaderElection(c, PATH, { id: `cand-${i}` });
      env.defer(() => e.close());
      await e.start();
      clients.push(c);
      elections.push(e);
    }
    return { clients, elections };
  }

  it('elects exactly the first candidate; each candidate holds one watch, on its predecessor', async () => {
    const { clients, elections } = await candidates(4);
    expect(elections.map((e) => e.isLeader)).toEqual([true, false, false, false]);
    expect(await elections[3]!.leader()).toBe('cand-0');

    const full = (p: string): string => `${env.root()}${p}`;
    for (let i = 0; i < 4; i++) {
      const own = elections[i]!.candidatePath!;
      const watched = await watchedPaths(env.backend(), clients[i]!.sessionId, env.root());
      // The leader watches its own node; every other candidate only the one before it.
      expect(watched).toEqual([full(i === 0 ? own : elections[i - 1]!.candidatePath!)]);
    }
  });

  it('hands over in order when the leader leaves, and when a middle candidate leaves nobody else moves', async () => {
    const { clients, elections } = await candidates(3);
    const [a, b, c] = elections as [LeaderElection, LeaderElection, LeaderElection];
    const cChanges: boolean[] = [];
    c.onChange((l) => cChanges.push(l));

    // The middle one leaves: c now waits on a, and nobody's leadership changes.
    await b.close();
    expect(b.isLeader).toBe(false);
    const full = (p: string): string => `${env.root()}${p}`;
    // No event says the server has the new watch: poll the server with a deadline.
    await until('c re-watched a', async () => {
      const w = await watchedPaths(env.backend(), clients[2]!.sessionId, env.root());
      return w.length === 1 && w[0] === full(a.candidatePath!);
    });
    expect(a.isLeader).toBe(true);
    expect(cChanges).toEqual([]);

    const cLeads = nextLeading(c, true, 'c leads');
    await a.close();
    await cLeads;
    expect(a.isLeader).toBe(false);
    expect(await c.leader()).toBe('cand-2');
  });

  it('under churn (leaders leave, sessions end, newcomers join) there is never more than one leader', async () => {
    const live = new Set<LeaderElection>();
    const clientOf = new Map<LeaderElection, Coordination>();
    const violations: string[] = [];
    let takeovers = 0;
    const join = async (i: number): Promise<LeaderElection> => {
      const c = await env.client();
      const e = new LeaderElection(c, PATH, { id: `churn-${i}` });
      e.onChange((leading) => {
        if (!leading) return;
        takeovers++;
        const others = [...live].filter((o) => o !== e && o.isLeader).map((o) => o.id);
        if (others.length > 0) violations.push(`${e.id} leads while ${others.join(',')} does`);
      });
      live.add(e);
      clientOf.set(e, c);
      env.defer(() => e.close());
      await e.start();
      return e;
    };
    for (let i = 0; i < 3; i++) await join(i);
    for (let round = 0; round < 6; round++) {
      const leader = [...live].find((e) => e.isLeader);
      expect(leader).toBeDefined();
      const successor = [...live].filter((e) => e !== leader).sort((a, b) => a.candidatePath!.localeCompare(b.candidatePath!))[0]!;
      const next = nextLeading(successor, true, `round ${round}: successor leads`);
      live.delete(leader!);
      // Alternate an orderly leave with a session ending.
      if (round % 2 === 0) await leader!.close();
      else await clientOf.get(leader!)!.close();
      await next;
      await join(10 + round);
    }
    expect(violations).toEqual([]);
    expect(takeovers).toBe(7);
    expect([...live].filter((e) => e.isLeader)).toHaveLength(1);
  });

  it('when the leader session ends (client closed), the next candidate takes over', async () => {
    const { clients, elections } = await candidates(2);
    const next = nextLeading(elections[1]!, true, 'second leads');
    await clients[0]!.close();
    await next;
    expect(elections[0]!.isLeader).toBe(false);
    expect(await elections[1]!.leader()).toBe('cand-1');
  });

  it('waitForLeadership resolves on takeover, times out, and honours abort and close', async () => {
    const { elections } = await candidates(2);
    const [a, b] = elections as [LeaderElection, LeaderElection];
    await a.waitForLeadership();

    const timedOut = await b.waitForLeadership({ timeoutMs: 200 }).catch((e: unknown) => e);
    expect(isDroverError(timedOut, 'DROVER_WAIT_TIMEOUT')).toBe(true);

    const ac = new AbortController();
    const aborted = b.waitForLeadership({ signal: ac.signal }).catch((e: unknown) => e);
    ac.abort(new Error('stop'));
    expect(isDroverError(await aborted, 'DROVER_CANCELLED')).toBe(true);

    const waiting = b.waitForLeadership({ timeoutMs: 20_000 });
    await a.close();
    await waiting;
    expect(b.isLeader).toBe(true);

    const c = new LeaderElection(await env.client(), PATH, { id: 'late' });
    await c.start();
    const closedWait = c.waitForLeadership().catch((e: unknown) => e);
    await c.close();
    expect(isDroverError(await closedWait, 'DROVER_CLOSED')).toBe(true);
    expect(c.candidatePath).toBeUndefined();
  });

  it('a node with its own id right ahead (e.g. from a session it gave up as LOST) is removed, not waited for', async () => {
    const [old, current] = await Promise.all([env.client(), env.client()]);
    await old.ensurePath(PATH);
    const stale = await old.create(`${PATH}/c-`, Buffer.from('me'), { mode: 'ephemeral_sequential' });
    const e = new LeaderElection(current, PATH, { id: 'me' });
    env.defer(() => e.close());
    const leads = nextLeading(e, true, 'leads once the stale node is gone');
    await e.start();
    await leads;
    expect(await current.exists(stale)).toBeNull();
  });

  it('a leader reports not-leading while SUSPENDED and leads again on RECONNECTED with the same session', async () => {
    const { client, proxy } = await env.proxied({ sessionTimeoutMs: 10_000 });
    const e = new LeaderElection(client, PATH, { id: 'proxied' });
    env.defer(() => e.close());
    await e.start();
    expect(e.isLeader).toBe(true);
    const node = e.candidatePath;

    const lost = nextLeading(e, false, 'not leading');
    const suspended = nextState(client, 'SUSPENDED');
    proxy.cut();
    await suspended;
    await lost;
    expect(e.isLeader).toBe(false);

    const again = nextLeading(e, true, 'leading again');
    proxy.restore();
    await again;
    expect(e.candidatePath).toBe(node);
  });

  it('after LOST the next candidate leads, and the old leader re-enters behind it with a new node', async () => {
    const { client, proxy } = await env.proxied({ sessionTimeoutMs: 2_000 });
    const first = new LeaderElection(client, PATH, { id: 'first' });
    env.defer(() => first.close());
    await first.start();
    const { elections } = await candidates(1);
    const second = elections[0]!;
    const oldNode = first.candidatePath;

    const takeover = nextLeading(second, true, 'second leads after expiry');
    const lost = nextState(client, 'LOST');
    proxy.cut();
    await lost;
    expect(first.isLeader).toBe(false);
    await takeover;

    const renewed = nextState(client, 'RECONNECTED');
    proxy.restore();
    expect((await renewed).sessionChanged).toBe(true);
    // It re-enters with a fresh node behind the new leader.
    await until('first re-entered', () => first.candidatePath !== undefined && first.candidatePath !== oldNode);
    expect(first.isLeader).toBe(false);
    expect(second.isLeader).toBe(true);
    expect(await second.leader()).toBe(second.id);
  });
});
