/**
 * reconfig's client-visible behaviour, written once and run on a 3-member
 * Apache ZooKeeper 3.8 ensemble with reconfigEnabled=true (which proves the
 * test) and on a 3-member Drover ensemble: /zookeeper/config's text and
 * Stat, the error each bad request gets and in which order the checks come,
 * and a successful incremental removal with its reply, version and watch
 * event. The one difference is documented (ADR 0011): the version of the
 * configuration zoo.cfg gave is ZooKeeper's first leader's zxid, Drover's 0.
 */
import { describe, it, expect, afterAll, beforeAll } from 'vitest';
import { RawClient } from '../helpers/raw-client.ts';
import { apacheZkAvailable, startApacheZkEnsemble } from '../helpers/apache-zk-ensemble.ts';
import { configureMembers, removeMembers, settle, startMember, type Member } from '../helpers/ensemble-members.ts';
import { freePorts } from '../helpers/drover-target.ts';
import { fourLetter } from '../helpers/four-letter.ts';
import type { Stat } from '../../coordinator/protocol/records.ts';

const SUPER = 'super:D/InIHSb7yEEbrWz8b9l71RjZJU='; // password "test"

interface Ensemble {
  clientPorts: number[];
  stop(): Promise<void>;
}

async function droverEnsemble(): Promise<Ensemble> {
  const ms: Member[] = await configureMembers(3);
  const elections = await freePorts(ms.length, (ms[0] as Member).config.servers.flatMap((s) => [s.quorumPort, s.electionPort, s.clientPort ?? 0]));
  const servers = ms.map((m, i) => ({ ...(m.config.servers[m.id - 1] as Member['config']['servers'][number]), clientHost: '127.0.0.1', electionPort: elections[i] as number }));
  for (const m of ms) m.config = { ...m.config, servers, reconfigEnabled: true, superDigest: SUPER };
  for (const m of ms) await startMember(m);
  await settle(ms);
  return { clientPorts: ms.map((m) => m.config.clientPort), stop: () => removeMembers(ms) };
}

async function zookeeperEnsemble(): Promise<Ensemble> {
  const e = await startApacheZkEnsemble({ superDigest: SUPER });
  return { clientPorts: e.members.map((m) => m.clientPort), stop: () => e.stop() };
}

function reconfigSuite(start: () => Promise<Ensemble>): void {
  let ensemble: Ensemble;
  const clients: RawClient[] = [];

  beforeAll(async () => {
    ensemble = await start();
  }, 90_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await ensemble?.stop();
  });

  async function client(member: number, asSuper: boolean): Promise<RawClient> {
    const c = await RawClient.connect('127.0.0.1', ensemble.clientPorts[member] as number);
    clients.push(c);
    if (asSuper) expect((await c.request({ op: 100, type: 0, scheme: 'digest', auth: Buffer.from('super:test') }, -4)).header.err).toBe(0);
    return c;
  }

  async function config(c: RawClient, watch = false): Promise<{ text: string; stat: Stat }> {
    await c.request({ op: 9, path: '/zookeeper/config' });
    const r = await c.request({ op: 4, path: '/zookeeper/config', watch });
    expect(r.header.err).toBe(0);
    const body = r.response as { data: Buffer | null; stat: Stat };
    return { text: body.data?.toString() ?? '', stat: body.stat };
  }

  function reconfig(c: RawClient, ask: { joining?: string; leaving?: string; members?: string; from?: number }) {
    return c.request({ op: 16, joiningServers: ask.joining ?? null, leavingServers: ask.leaving ?? null, newMembers: ask.members ?? null, curConfigId: ask.from ?? -1 });
  }

  it('shows the configuration, refuses bad reconfigs with ZooKeeper’s codes, and applies a good one', async () => {
    // A follower leaves; the clients talk to the other two (removing the leader is tested on Drover alone).
    const modes = await Promise.all(ensemble.clientPorts.map((p) => fourLetter('127.0.0.1', p, 'srvr', 2000)));
    const victim = modes.findIndex((m) => /^Mode: follower/m.test(m));
    const [first, second] = [0, 1, 2].filter((i) => i !== victim) as [number, number];
    const c = await client(first, true);
    const before = await config(c);
    const lines = before.text.split('\n');
    expect(lines).toHaveLength(4);
    for (const [i, line] of lines.slice(0, 3).entries()) {
      expect(line).toMatch(new RegExp(`^server\\.${i + 1}=127\\.0\\.0\\.1:\\d+:\\d+:participant;127\\.0\\.0\\.1:${ensemble.clientPorts[i]}$`));
    }
    const version = parseInt(/^version=([0-9a-f]+)$/.exec(lines[3] as string)?.[1] ?? 'x', 16);
    expect(Number.isNaN(version)).toBe(false);
    expect(before.stat.mzxid).toBe(version);
    expect(before.stat.version).toBe(-1);

    // Free ports, none of them one a server of the configuration has (a follower's quorum port is not bound).
    const ports = await freePorts(9, [...before.text.matchAll(/[:;](\d+)/g)].map((m) => Number(m[1])));
    const absent = (id: number): string => `server.${id}=127.0.0.1:${ports[3 * id - 12]}:${ports[3 * id - 11]}:participant;127.0.0.1:${ports[3 * id - 10]}`;
    const leaving = String(victim + 1);
    expect((await reconfig(c, { leaving, from: version + 1 })).header.err).toBe(-103);
    expect((await reconfig(c, { joining: 'server.4=nonsense', from: version })).header.err).toBe(-8);
    expect((await reconfig(c, { joining: 'server.4=127.0.0.1:1:2:participant' })).header.err).toBe(-8);
    expect((await reconfig(c, { leaving: '1,2' })).header.err).toBe(-8);
    expect((await reconfig(c, { leaving: 'two' })).header.err).toBe(-5);
    expect((await reconfig(c, { members: 'tickTime=5' })).header.err).toBe(-8);
    expect((await reconfig(c, { members: '', leaving })).header.err).toBe(-8);
    expect((await reconfig(c, { joining: [absent(4), absent(5), absent(6)].join(',') })).header.err).toBe(-13);
    const anonymous = await client(first, false);
    expect((await reconfig(anonymous, { leaving })).header.err).toBe(-102);

    const watcher = await client(second, false);
    await config(watcher, true);
    const r = await reconfig(c, { leaving, from: version });
    expect(r.header.err).toBe(0);
    const reply = r.response as { data: Buffer; stat: Stat };
    const text = reply.data.toString();
    expect(text.split('\n')).toEqual([...lines.slice(0, 3).filter((_, i) => i !== victim), `version=${r.header.zxid.toString(16)}`]);
    expect(reply.stat.mzxid).toBe(r.header.zxid);
    expect(reply.stat.version).toBe(-1);
    expect(await watcher.nextEvent(10_000)).toEqual({ type: 3, state: 3, path: '/zookeeper/config' });
    expect((await config(watcher)).text).toBe(text);

    // Non-incremental, conditional on the version just made: the same two servers, a new version.
    const servers = text.split('\n').slice(0, 2);
    expect((await reconfig(c, { members: servers.join(','), from: version })).header.err).toBe(-103);
    const again = await reconfig(c, { members: servers.join(','), from: r.header.zxid });
    expect(again.header.err).toBe(0);
    expect((again.response as { data: Buffer }).data.toString()).toBe([...servers, `version=${again.header.zxid.toString(16)}`].join('\n'));
  }, 60_000);
}

describe.skipIf(!apacheZkAvailable())('reconfig on Apache ZooKeeper 3.8', () => reconfigSuite(zookeeperEnsemble));
describe('reconfig on Drover', () => reconfigSuite(droverEnsemble));
