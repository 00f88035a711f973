/** An in-process 3-member ensemble: clients on the leader, and a leader of a fresh epoch before its first write. */
import { it, expect } from 'vitest';
import { startDroverEnsemble } from '../helpers/drover-ensemble.ts';
import { connect } from '../helpers/zk-promise.ts';
import { RawClient } from '../helpers/raw-client.ts';

it('serves writes on the leader', async () => {
  const e = await startDroverEnsemble(3);
  const modes = await e.modes();
  const c = await connect(`127.0.0.1:${e.clientPorts[modes.indexOf('leader')]}`);
  for (let i = 0; i < 20; i++) await c.create('/x' + i);
  expect((await c.children('/')).children.length).toBeGreaterThan(20);
  c.close();
  await e.stop();
}, 30_000);

it('a new leader answers a moved session before anything is written in its epoch', async () => {
  const e = await startDroverEnsemble(3);
  const modes = await e.modes();
  const follower = modes.indexOf('follower');
  const first = await RawClient.connect('127.0.0.1', e.clientPorts[follower] as number, { timeoutMs: 4000 });
  const oldLeader = modes.indexOf('leader');
  await e.members[oldLeader]?.stop();
  // Wait for a new leader among the two left (srvr probes).
  let leader = -1;
  const deadline = Date.now() + 20_000;
  while (leader < 0) {
    const now = await e.modes();
    leader = now.findIndex((m, i) => m === 'leader' && i !== oldLeader);
    if (Date.now() > deadline) throw new Error(`no new leader: ${now.join(',')}`);
    if (leader < 0) await new Promise((r) => setTimeout(r, 50)); // probe interval
  }
  const moved = await RawClient.connect('127.0.0.1', e.clientPorts[leader] as number, {
    sessionId: first.session.sessionId,
    passwd: first.session.passwd,
    timeoutMs: 4000,
  });
  expect(moved.session.sessionId).toBe(first.session.sessionId);
  expect((await moved.request({ op: 3, path: '/', watch: false })).header.err).toBe(0);
  first.close();
  moved.close();
  await e.stop();
}, 30_000);

it('srvr and mntr report roles, followers and synced followers', async () => {
  const { fourLetter } = await import('../helpers/four-letter.ts');
  const e = await startDroverEnsemble(3);
  const modes = await e.modes();
  expect(modes.sort()).toEqual(['follower', 'follower', 'leader']);
  const leaderPort = e.clientPorts[(await e.modes()).indexOf('leader')] as number;
  const mntr = await fourLetter('127.0.0.1', leaderPort, 'mntr');
  expect(mntr).toMatch(/^zk_server_state\tleader$/m);
  expect(mntr).toMatch(/^zk_followers\t2$/m);
  expect(mntr).toMatch(/^zk_synced_followers\t2$/m);
  expect(mntr).toMatch(/^zk_pending_syncs\t0$/m);
  expect(await fourLetter('127.0.0.1', leaderPort, 'srvr')).toMatch(/^Zxid: 0x[0-9a-f]+$/m);
  await e.stop();
}, 30_000);
