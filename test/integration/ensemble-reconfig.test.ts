/**
 * Dynamic reconfiguration over real TCP (ADR 0011): a 3-member ensemble
 * with reconfigEnabled=true grows to 4, loses a member, and has a killed
 * machine replaced, all without a restart; the new configuration is at
 * /zookeeper/config (watched), and a restarted member comes back with it.
 * node-zookeeper-client has no reconfig: a raw client sends opcode 16.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { existsSync, readdirSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { configureMembers, removeMembers, settle, startMember, stopMember, modeOf, waitForModes, type Member } from '../helpers/ensemble-members.ts';
import { freePorts } from '../helpers/drover-target.ts';
import { fourLetter } from '../helpers/four-letter.ts';
import { until } from '../helpers/backends.ts';
import { RawClient, OPEN_ACL } from '../helpers/raw-client.ts';
import type { MemberConfig, ServerEntry } from '../../coordinator/config/zoo-cfg.ts';
import type { Stat } from '../../coordinator/protocol/records.ts';

const SUPER = 'super:D/InIHSb7yEEbrWz8b9l71RjZJU='; // password "test"

let members: Member[] = [];
const clients: RawClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await removeMembers(members);
  members = [];
});

/** A 3-member ensemble that allows reconfig, with distinct election ports as ZooKeeper wants. */
async function ensemble(): Promise<Member[]> {
  const ms = await configureMembers(3);
  const elections = await freePorts(ms.length, usedPorts(ms[0] as Member));
  const servers = ms.map((m, i) => ({ ...serverOf(m), electionPort: elections[i] as number }));
  for (const m of ms) m.config = { ...m.config, servers, reconfigEnabled: true, superDigest: SUPER };
  return ms;
}

function serverOf(m: Member): ServerEntry {
  const s = m.config.servers.find((x) => x.id === m.id);
  if (!s) throw new Error(`no server line for ${m.id}`);
  return s;
}

/** Every port the servers `m` knows of are configured with, running or not. */
function usedPorts(m: Member): number[] {
  return m.config.servers.flatMap((s) => [s.quorumPort, s.electionPort, s.clientPort ?? 0]);
}

/** A new machine: configured with the ensemble's servers and itself, as ZooKeeper's docs say to start a joiner. */
async function newMachine(id: number, from: Member): Promise<Member> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `drover-member${id}-`));
  const [quorumPort, electionPort, clientPort] = (await freePorts(3, usedPorts(from))) as [number, number, number];
  const me: ServerEntry = { id, host: '127.0.0.1', quorumPort, electionPort, role: 'participant', clientHost: '127.0.0.1', clientPort };
  const config: MemberConfig = { ...from.config, dataDir: dir, dataLogDir: dir, clientPort: me.clientPort as number, servers: [...from.config.servers, me] };
  return { id, config, running: null, lines: [] };
}

/** A reconfigurable 3-member ensemble started and settled: its leader. */
async function startEnsemble(): Promise<Member> {
  members = await ensemble();
  for (const m of members) await startMember(m);
  return settle(members);
}

/** A new machine `id` started beside the ensemble, synced as a non-voting follower (not yet in the configuration). */
async function joinNewMachine(id: number, leader: Member, what: string): Promise<Member> {
  const m = await newMachine(id, leader);
  members.push(m);
  await startMember(m);
  await waitForModes([m], (modes) => modes[0] === 'follower', what);
  return m;
}

function spec(m: Member): string {
  const s = serverOf(m);
  return `server.${s.id}=${s.host}:${s.quorumPort}:${s.electionPort}:participant;127.0.0.1:${s.clientPort}`;
}

async function client(m: Member, asSuper = true): Promise<RawClient> {
  const c = await RawClient.connect('127.0.0.1', m.config.clientPort);
  clients.push(c);
  if (asSuper) {
    const auth = await c.request({ op: 100, type: 0, scheme: 'digest', auth: Buffer.from('super:test') }, -4);
    expect(auth.header.err).toBe(0);
  }
  return c;
}

async function reconfig(c: RawClient, ask: { joining?: string; leaving?: string; members?: string; from?: number }) {
  return c.request({ op: 16, joiningServers: ask.joining ?? null, leavingServers: ask.leaving ?? null, newMembers: ask.members ?? null, curConfigId: ask.from ?? -1 });
}

async function configOf(c: RawClient, watch = false): Promise<{ text: string; stat: Stat }> {
  // A sync first: the member answers once it has applied everything the leader committed before.
  await c.request({ op: 9, path: '/zookeeper/config' });
  const r = await c.request({ op: 4, path: '/zookeeper/config', watch });
  expect(r.header.err).toBe(0);
  const body = r.response as { data: Buffer | null; stat: Stat };
  return { text: body.data?.toString() ?? '', stat: body.stat };
}

const ZK_JAR = '/usr/share/java/zookeeper.jar';
/** Debian's python3-kazoo, for /usr/bin/python3. */
const KAZOO = '/usr/lib/python3/dist-packages/kazoo/client.py';

/** Runs Apache ZooKeeper's CLI (ZooKeeperMain, what zkCli.sh starts) with `commands` on its stdin; resolves with its stdout. */
async function zkCli(port: number, commands: string[]): Promise<string> {
  const child = spawn('java', ['-cp', `${ZK_JAR}:/usr/share/java/slf4j-simple.jar`, '-Dorg.slf4j.simpleLogger.defaultLogLevel=error', 'org.apache.zookeeper.ZooKeeperMain', '-server', `127.0.0.1:${port}`]);
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.resume();
  child.stdin.end(commands.join('\n') + '\n');
  await once(child, 'exit');
  return out;
}

function idsIn(text: string): number[] {
  return [...text.matchAll(/^server\.(\d+)=/gm)].map((m) => Number(m[1]));
}

describe('dynamic reconfiguration on a Drover ensemble', () => {
  it('adds a fourth member without a restart; errors as ZooKeeper answers them', async () => {
    members = await ensemble();
    for (const m of members) await startMember(m);
    await settle(members);
    const [m1] = members as [Member, Member, Member];
    const c = await client(m1);
    const before = await configOf(c);
    expect(idsIn(before.text)).toEqual([1, 2, 3]);
    expect(before.text).toMatch(/^version=0$/m);
    // zoo.cfg gave a client port without a host: shown as 0.0.0.0, as QuorumServer.toString does.
    const s1 = serverOf(m1);
    expect(before.text).toContain(`server.1=127.0.0.1:${s1.quorumPort}:${s1.electionPort}:participant;0.0.0.0:${s1.clientPort}`);

    const joiner = await newMachine(4, m1);
    members.push(joiner);
    // Checks come in ZooKeeper's order: version, arguments, quorum, then the ACL.
    expect((await reconfig(c, { joining: spec(joiner), from: 0x1234 })).header.err).toBe(-103);
    expect((await reconfig(c, { joining: 'server.4=nonsense' })).header.err).toBe(-8);
    expect((await reconfig(c, { leaving: '1,2' })).header.err).toBe(-8); // fewer than two voters
    // Three voters more, none of them running: 3 of 6 are synced, no quorum.
    // Their ports: free, and none of them one the joiner (configured, not running yet) or another server has.
    const [q5, e5, c5, q6, e6, c6] = await freePorts(6, usedPorts(joiner));
    const absent = [`server.5=127.0.0.1:${q5}:${e5}:participant;127.0.0.1:${c5}`, `server.6=127.0.0.1:${q6}:${e6}:participant;127.0.0.1:${c6}`];
    expect((await reconfig(c, { joining: [spec(joiner), ...absent].join(',') })).header.err).toBe(-13);
    const anonymous = await client(m1, false);
    expect((await reconfig(anonymous, { joining: spec(joiner) })).header.err).toBe(-102);

    await startMember(joiner);
    await waitForModes([joiner], (modes) => modes[0] === 'follower', 'the joiner did not sync as a non-voting follower');
    const watcher = await client(members[1] as Member, false);
    await configOf(watcher, true);
    const r = await reconfig(c, { joining: spec(joiner), from: 0 });
    expect(r.header.err).toBe(0);
    const reply = r.response as { data: Buffer; stat: Stat };
    const text = reply.data.toString();
    expect(idsIn(text)).toEqual([1, 2, 3, 4]);
    expect(text).toMatch(new RegExp(`^version=${r.header.zxid.toString(16)}$`, 'm'));
    expect(reply.stat.mzxid).toBe(r.header.zxid);
    expect(reply.stat.version).toBe(-1);
    expect(await watcher.nextEvent(10_000)).toEqual({ type: 3, state: 3, path: '/zookeeper/config' });
    // Every member shows it, the joiner too; a second reconfig from the old version is refused.
    for (const m of members) expect((await configOf(await client(m, false))).text).toBe(text);
    expect((await reconfig(c, { leaving: '4', from: 0 })).header.err).toBe(-103);

    // The fourth member votes now: with one original member down, 3 of 4 still commit.
    const leader = await settle(members);
    const down = members.find((m) => m !== leader && m !== joiner) as Member;
    await stopMember(down);
    const w = await client(joiner, false);
    const created = await w.request({ op: 1, path: `/grown-${Date.now()}`, data: null, acl: OPEN_ACL, flags: 0 });
    expect(created.header.err).toBe(0);
  }, 60_000);

  it('removes a member, and a restarted member comes back with the new membership', async () => {
    const leader = await startEnsemble();
    const follower = members.find((m) => m !== leader) as Member;
    const c = await client(leader);
    const r = await reconfig(c, { leaving: String(follower.id) });
    expect(r.header.err).toBe(0);
    const text = (r.response as { data: Buffer }).data.toString();
    expect(idsIn(text)).toEqual(members.filter((m) => m !== follower).map((m) => m.id));
    // As ZooKeeper's, the removed server stays a non-voting follower until it is shut down.
    expect(await modeOf(follower)).toBe('follower');
    // conf ends with the membership in force, as QuorumZooKeeperServer.dumpConf writes it.
    expect(await fourLetter('127.0.0.1', leader.config.clientPort, 'conf')).toContain(`peerType=0\nmembership: \n${text}\n`);
    const version = /^version=([0-9a-f]+)$/m.exec(text)?.[1];
    for (const m of members) {
      await configOf(await client(m, false)); // applied there
      expect(existsSync(path.join(m.config.dataDir, `zoo.cfg.dynamic.${version}`)), `member ${m.id}`).toBe(true);
    }
    await stopMember(follower);
    // Two voters of two: both must be up; restart one from its data dir and it rejoins with the 2-member config.
    const other = members.find((m) => m !== leader && m !== follower) as Member;
    await stopMember(other);
    await startMember(other);
    await settle(members.filter((m) => m !== follower));
    expect((await configOf(await client(other, false))).text).toBe(text);
    expect(readdirSync(other.config.dataDir).filter((f) => f.startsWith('zoo.cfg.dynamic.'))).toEqual([`zoo.cfg.dynamic.${version}`]);
  }, 60_000);

  it('removes the leader: it hands over to a member of the new configuration', async () => {
    const leader = await startEnsemble();
    const follower = members.find((m) => m !== leader) as Member;
    const c = await client(follower);
    const r = await reconfig(c, { leaving: String(leader.id) });
    expect(r.header.err).toBe(0);
    // The old leader no longer votes: it steps down, the two left elect one of them, and it follows as a non-voter.
    await waitForModes(members, (modes) => modes.filter((m) => m === 'leader').length === 1 && modes.every((m) => m === 'leader' || m === 'follower'), 'no new leader');
    const next = await settle(members);
    expect(next).not.toBe(leader);
    const w = await client(leader, false);
    expect((await w.request({ op: 1, path: `/after-${Date.now()}`, data: null, acl: OPEN_ACL, flags: 0 })).header.err).toBe(0);
    expect(idsIn((await configOf(w)).text)).not.toContain(leader.id);
  }, 60_000);

  it('turns a follower into an observer and back, online', async () => {
    const leader = await startEnsemble();
    const f = members.find((m) => m !== leader) as Member;
    const c = await client(leader);
    const s = serverOf(f);
    const as = (role: string) => `server.${f.id}=${s.host}:${s.quorumPort}:${s.electionPort}:${role};0.0.0.0:${s.clientPort}`;
    const demoted = await reconfig(c, { joining: as('observer') });
    expect(demoted.header.err).toBe(0);
    expect((demoted.response as { data: Buffer }).data.toString()).toContain(as('observer'));
    await waitForModes([f], (modes) => modes[0] === 'observer', 'the follower did not become an observer');
    const promoted = await reconfig(c, { joining: as('participant') });
    expect(promoted.header.err).toBe(0);
    await waitForModes([f], (modes) => modes[0] === 'follower', 'the observer did not become a follower');
    expect(idsIn((await configOf(await client(f, false))).text)).toEqual([1, 2, 3]);
  }, 60_000);

  it("moves a member's client port without a restart", async () => {
    const leader = await startEnsemble();
    const f = members.find((m) => m !== leader) as Member;
    const s = serverOf(f);
    const [port] = (await freePorts(1, usedPorts(leader))) as [number];
    const r = await reconfig(await client(leader), { joining: `server.${f.id}=${s.host}:${s.quorumPort}:${s.electionPort}:participant;127.0.0.1:${port}` });
    expect(r.header.err).toBe(0);
    await until('the member to listen on its new client port', async () => /^Mode: follower/m.test(await fourLetter('127.0.0.1', port, 'srvr', 1000).catch(() => '')));
    expect(await fourLetter('127.0.0.1', s.clientPort as number, 'srvr', 1000).catch(() => 'refused')).toBe('refused');
  }, 60_000);

  it('a member down during a reconfig comes back into the new configuration', async () => {
    const leader = await startEnsemble();
    const down = members.find((m) => m !== leader) as Member;
    await stopMember(down);
    const joiner = await joinNewMachine(4, leader, 'the joiner did not sync');
    const r = await reconfig(await client(leader), { joining: spec(joiner) });
    expect(r.header.err).toBe(0);
    const text = (r.response as { data: Buffer }).data.toString();
    // It restarts from zoo.cfg (version 0), learns the newer configuration from the members' votes, and syncs.
    await startMember(down);
    await settle(members);
    expect((await configOf(await client(down, false))).text).toBe(text);
    const version = /^version=([0-9a-f]+)$/m.exec(text)?.[1];
    expect(existsSync(path.join(down.config.dataDir, `zoo.cfg.dynamic.${version}`))).toBe(true);
    expect(await modeOf(down)).toBe('follower');
  }, 60_000);

  it('replaces a killed machine in one reconfig', async () => {
    const leader = await startEnsemble();
    const dead = members.find((m) => m !== leader) as Member;
    await stopMember(dead);
    const fresh = await joinNewMachine(4, leader, 'the new machine did not sync');
    const c = await client(leader);
    const r = await reconfig(c, { joining: spec(fresh), leaving: String(dead.id) });
    expect(r.header.err).toBe(0);
    const text = (r.response as { data: Buffer }).data.toString();
    expect(idsIn(text)).toEqual(members.filter((m) => m !== dead).map((m) => m.id).sort((a, b) => a - b));
    // The new machine's vote counts: the ensemble survives losing the other original follower.
    const survivor = members.find((m) => m !== leader && m !== dead && m !== fresh) as Member;
    await stopMember(survivor);
    const w = await client(fresh, false);
    expect((await w.request({ op: 1, path: `/replaced-${Date.now()}`, data: null, acl: OPEN_ACL, flags: 0 })).header.err).toBe(0);
  }, 60_000);

  it.skipIf(!existsSync(ZK_JAR))("Apache ZooKeeper's zkCli reads the configuration and reconfigures", async () => {
    const leader = await startEnsemble();
    const victim = members.find((m) => m !== leader) as Member;
    const out = await zkCli(leader.config.clientPort, ['config', 'addauth digest super:test', `reconfig -remove ${victim.id}`, 'config', 'quit']);
    expect(out).toMatch(/^server\.3=127\.0\.0\.1:\d+:\d+:participant;0\.0\.0\.0:\d+\nversion=0$/m);
    const committed = /Committed new configuration:\n((?:server\.\d+=.*\n)+version=[0-9a-f]+)/.exec(out)?.[1];
    expect(committed, out).toBeDefined();
    expect(idsIn(committed as string)).toEqual(members.filter((m) => m !== victim).map((m) => m.id));
  }, 60_000);

  it.skipIf(!existsSync(KAZOO))("kazoo's client.reconfig removes a member, from the version it read", async () => {
    const leader = await startEnsemble();
    const victim = members.find((m) => m !== leader) as Member;
    const hosts = members.filter((m) => m !== victim).map((m) => `127.0.0.1:${m.config.clientPort}`).join(',');
    const child = spawn('/usr/bin/python3', [path.join(import.meta.dirname, 'clients', 'kazoo-reconfig.py'), hosts, String(victim.id)]);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.resume();
    await once(child, 'exit');
    const r = JSON.parse(out) as { before: string; bad: string; after: string; version: number; mzxid: number };
    expect(idsIn(r.before)).toEqual([1, 2, 3]);
    expect(r.bad).toBe('BadVersionError');
    expect(idsIn(r.after)).toEqual(members.filter((m) => m !== victim).map((m) => m.id));
    expect(r.after).toMatch(new RegExp(`^version=${r.mzxid.toString(16)}$`, 'm'));
    expect(r.version).toBe(-1);
  }, 60_000);

  it('answers ReconfigDisabled unless reconfigEnabled=true', async () => {
    members = await configureMembers(3);
    for (const m of members) m.config = { ...m.config, superDigest: SUPER };
    for (const m of members) await startMember(m);
    await settle(members);
    const c = await client(members[0] as Member);
    expect((await reconfig(c, { leaving: '3' })).header.err).toBe(-123);
    // The configuration is shown all the same, as ZooKeeper's ensembles do.
    expect(idsIn((await configOf(c)).text)).toEqual([1, 2, 3]);
  }, 60_000);
});
