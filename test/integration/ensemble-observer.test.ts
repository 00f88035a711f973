/**
 * An observer (`server.4=...:observer`) beside three voters, over real TCP:
 * it reports Mode: observer, serves reads and forwards writes, is not
 * counted among the leader's followers, and does not make a quorum: with two
 * voters gone, nobody serves until one comes back.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { connect } from '../helpers/zk-promise.ts';
import { fourLetter } from '../helpers/four-letter.ts';
import { RawClient } from '../helpers/raw-client.ts';
import { configureMembers, modeOf, removeMembers, settle, startMember, stopMember, waitForModes, type Member } from '../helpers/ensemble-members.ts';

describe('an ensemble with an observer', () => {
  let members: Member[] = [];
  afterAll(() => removeMembers(members));

  it('observes, serves, forwards writes, and counts toward no quorum', async () => {
    members = await configureMembers(4, { observers: [4] });
    await Promise.all(members.map(startMember));
    const leader = await settle(members);
    const observer = members[3] as Member;
    expect(await modeOf(observer)).toBe('observer');
    const mntr = await fourLetter('127.0.0.1', leader.config.clientPort, 'mntr');
    expect(mntr).toMatch(/^zk_followers\t2$/m);
    expect(mntr).toMatch(/^zk_synced_followers\t2$/m);
    expect(mntr).toMatch(/^zk_learners\t3$/m);
    expect(mntr).toMatch(/^zk_synced_observers\t1$/m);
    expect(await fourLetter('127.0.0.1', observer.config.clientPort, 'mntr')).toMatch(/^zk_peer_state\tobserving - broadcast$/m);

    // Writes through the observer are forwarded, committed by the voters, and read back there.
    const c = await connect(`127.0.0.1:${observer.config.clientPort}`);
    for (let i = 0; i < 20; i++) await c.create(`/o${i}`, Buffer.from(`v${i}`));
    await c.set('/o3', Buffer.from('changed'));
    expect((await c.get('/o3')).data?.toString()).toBe('changed');
    c.close();
    // A voter sees them too (after sync).
    const voter = members.find((m) => m !== leader && m !== observer) as Member;
    const raw = await RawClient.connect('127.0.0.1', voter.config.clientPort);
    expect((await raw.request({ op: 9, path: '/' })).header.err).toBe(0);
    raw.close();
    const v = await connect(`127.0.0.1:${voter.config.clientPort}`);
    expect((await v.children('/')).children.filter((n) => n.startsWith('o'))).toHaveLength(20);
    v.close();

    // Two voters gone: one voter and an observer are no quorum.
    const gone = members.filter((m) => m !== observer).slice(0, 2);
    await Promise.all(gone.map(stopMember));
    await waitForModes(members, (modes) => modes.every((m) => m === 'down'), 'a voter and an observer still serve');
    await startMember(gone[0] as Member);
    await settle(members);
    expect(await modeOf(observer)).toBe('observer');
    const again = await connect(`127.0.0.1:${observer.config.clientPort}`);
    expect((await again.get('/o3')).data?.toString()).toBe('changed');
    await again.create('/after');
    again.close();
  }, 60_000);
});
