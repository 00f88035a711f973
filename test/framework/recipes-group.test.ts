/**
 * Group membership on both backends: join with data, everyone sees the
 * same members, a member's session ending removes it for the others, and a
 * member whose session was LOST joins again on its new session.
 */
import { expect, it } from 'vitest';
import { describeOnBackends, nextEvent, until, nextState } from '../helpers/backends.ts';
import { GroupMembership } from '../../shared/recipes/group-membership.ts';

function membersWhere(g: GroupMembership, what: string, match: (m: Map<string, Buffer>) => boolean): Promise<Map<string, Buffer>> {
  if (match(g.members())) return Promise.resolve(g.members());
  return nextEvent(what, (d) => {
    const off = g.onChange((m) => {
      if (match(m)) {
        off();
        d(m);
      }
    });
  });
}


const names = (m: Map<string, Buffer>): string[] => [...m.keys()].sort();

describeOnBackends('recipes: group membership', (env) => {
  it('members join with data; an observer sees joins, data changes and a departed session', async () => {
    const observerClient = await env.client();
    const observer = new GroupMembership(observerClient, '/group');
    env.defer(() => observer.close());
    await observer.start();
    expect(observer.members().size).toBe(0);

    const clients = await Promise.all([env.client(), env.client(), env.client()]);
    const members = clients.map((c, i) => new GroupMembership(c, '/group', { id: `m${i}`, data: Buffer.from(`host-${i}`) }));
    for (const m of members) env.defer(() => m.close());
    await Promise.all(members.map((m) => m.join()));
    const all = await membersWhere(observer, 'three members', (m) => m.size === 3);
    expect(names(all)).toEqual(['m0', 'm1', 'm2']);
    expect(all.get('m1')?.toString()).toBe('host-1');

    await members[2]!.setData(Buffer.from('moved'));
    await membersWhere(observer, 'new data', (m) => m.get('m2')?.toString() === 'moved');

    await members[0]!.close();
    await clients[1]!.close();
    expect(names(await membersWhere(observer, 'm0 and m1 gone', (m) => m.size === 1))).toEqual(['m2']);
    // The remaining member sees the same picture.
    await until('m2 sees only itself', () => names(members[2]!.members()).join() === 'm2');
  });

  it('a member whose session is LOST disappears for the others and joins again on its new session', async () => {
    const observer = new GroupMembership(await env.client(), '/group');
    env.defer(() => observer.close());
    await observer.start();
    const { client, proxy } = await env.proxied({ sessionTimeoutMs: 2_000 });
    const member = new GroupMembership(client, '/group', { id: 'flaky', data: Buffer.from('x') });
    env.defer(() => member.close());
    await member.join();
    await membersWhere(observer, 'flaky joined', (m) => m.has('flaky'));

    const lost = nextState(client, 'LOST');
    proxy.cut();
    await lost;
    await membersWhere(observer, 'flaky gone', (m) => !m.has('flaky'));
    proxy.restore();
    const back = await membersWhere(observer, 'flaky back', (m) => m.has('flaky'));
    expect(back.get('flaky')?.toString()).toBe('x');
    const stat = await client.exists('/group/flaky');
    expect(stat?.ephemeralOwner).toBe(client.sessionId);
  });
});
