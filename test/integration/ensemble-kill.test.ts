/**
 * Three real `drover server --config zoo.cfg` processes on loopback. Under a
 * continuous write load from node-zookeeper-client: kill -9 the leader, then
 * a follower, restart both. Every acknowledged write must be on all three
 * afterwards, writes must resume, and a session that was on the dead leader
 * moves to a survivor with its ephemeral intact. Members snapshot and
 * compact their logs all along (a small snapCount), so kills land in the
 * middle of snapshots too.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import zookeeper from 'node-zookeeper-client';
import { freePorts, spawnDrover, type DroverProcess } from '../helpers/drover-target.ts';
import { fourLetter } from '../helpers/four-letter.ts';
import { RawClient, OPEN_ACL } from '../helpers/raw-client.ts';

type Client = ReturnType<typeof zookeeper.createClient>;
const TICK = 200;
/** Small, so members snapshot and compact under the load and a restarted member may need SNAP. */
const SNAP_COUNT = 100;

interface Member {
  id: number;
  dir: string;
  cfg: string;
  clientPort: number;
  proc: DroverProcess | null;
}

async function mode(port: number): Promise<string> {
  const srvr = await fourLetter('127.0.0.1', port, 'srvr', 1000).catch(() => '');
  return /^Mode: (\w+)/m.exec(srvr)?.[1] ?? 'down';
}

/** Waits (probing srvr) until exactly one leader serves and every live member follows it. */
async function settle(members: Member[]): Promise<Member> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const live = members.filter((m) => m.proc);
    const modes = await Promise.all(live.map((m) => mode(m.clientPort)));
    const leaders = live.filter((_, i) => modes[i] === 'leader');
    if (leaders.length === 1 && modes.every((m) => m === 'leader' || m === 'follower')) return leaders[0] as Member;
    if (Date.now() > deadline) throw new Error(`no stable leader: ${modes.join(',')}`);
    await new Promise((r) => setTimeout(r, 50)); // probe interval
  }
}

function connect(connectString: string): Promise<Client> {
  const c = zookeeper.createClient(connectString, { sessionTimeout: 20 * TICK, retries: 0 });
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('connect timed out')), 15_000);
    c.once('connected', () => {
      clearTimeout(t);
      resolve(c);
    });
    c.connect();
  });
}

function exists(c: Client, p: string): Promise<boolean> {
  return new Promise((resolve, reject) => c.exists(p, (err, stat) => (err ? reject(err) : resolve(Boolean(stat)))));
}

describe('a 3-process ensemble under kill -9', () => {
  const members: Member[] = [];
  afterAll(async () => {
    for (const m of members) {
      m.proc?.child.kill('SIGKILL');
      await rm(m.dir, { recursive: true, force: true });
    }
  });

  it('keeps acknowledged writes, resumes writing, and moves sessions to survivors', async () => {
    const ports = await freePorts(6);
    const lines = [1, 2, 3].map((id) => `server.${id}=127.0.0.1:${ports[id + 2]}:${ports[id + 2]}`);
    for (const id of [1, 2, 3]) {
      const dir = await mkdtemp(path.join(os.tmpdir(), `drover-ens${id}-`));
      const clientPort = ports[id - 1] as number;
      const cfg = path.join(dir, 'zoo.cfg');
      await writeFile(path.join(dir, 'myid'), `${id}\n`);
      await writeFile(cfg, [`tickTime=${TICK}`, 'initLimit=10', 'syncLimit=5', `dataDir=${dir}`, `clientPort=${clientPort}`, 'clientPortAddress=127.0.0.1', '4lw.commands.whitelist=*', `snapCount=${SNAP_COUNT}`, ...lines].join('\n') + '\n');
      members.push({ id, dir, cfg, clientPort, proc: null });
    }
    const start = async (m: Member): Promise<void> => {
      m.proc = await spawnDrover(['--config', m.cfg], m.clientPort);
    };
    await Promise.all(members.map(start));
    const firstLeader = await settle(members);
    const all = members.map((m) => `127.0.0.1:${m.clientPort}`).join(',');

    // A session living on the leader, with an ephemeral.
    const pinned = await RawClient.connect('127.0.0.1', firstLeader.clientPort, { timeoutMs: 20 * TICK });
    expect((await pinned.request({ op: 1, path: '/pinned', data: null, acl: OPEN_ACL, flags: 1 })).header.err).toBe(0);

    // Continuous writes: 16 in flight, each acknowledged one remembered.
    const writer = await connect(all);
    const acked: string[] = [];
    let n = 0;
    let running = true;
    const loops = Array.from({ length: 16 }, async () => {
      while (running) {
        const p = `/w${n++}`;
        const ok = await new Promise<boolean>((resolve) =>
          writer.create(p, Buffer.from('v'), (err) => {
            if (!err) acked.push(p);
            resolve(!err);
          }),
        );
        // While the client reconnects, failures come back at once: do not spin.
        if (!ok) await new Promise((r) => setTimeout(r, 20));
      }
    });
    const waitAcked = async (count: number): Promise<void> => {
      const deadline = Date.now() + 30_000;
      while (acked.length < count) {
        if (Date.now() > deadline) throw new Error(`writes stalled at ${acked.length}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await waitAcked(200);

    // kill -9 the leader.
    firstLeader.proc?.child.kill('SIGKILL');
    await firstLeader.proc?.exited;
    firstLeader.proc = null;
    pinned.close();
    const secondLeader = await settle(members);
    expect(secondLeader.id).not.toBe(firstLeader.id);
    // The pinned session moves to a survivor and keeps its ephemeral.
    const survivor = members.find((m) => m.proc) as Member;
    const moved = await RawClient.connect('127.0.0.1', survivor.clientPort, { sessionId: pinned.session.sessionId, passwd: pinned.session.passwd, timeoutMs: 20 * TICK });
    expect(moved.session.sessionId).toBe(pinned.session.sessionId);
    expect((await moved.request({ op: 3, path: '/pinned', watch: false })).header.err).toBe(0);

    const afterFirstKill = acked.length;
    await waitAcked(afterFirstKill + 200); // writes resumed

    // kill -9 a follower, then bring both back.
    const follower = members.find((m) => m.proc && m !== secondLeader) as Member;
    follower.proc?.child.kill('SIGKILL');
    await follower.proc?.exited;
    follower.proc = null;
    // One of three left: no quorum, so nothing commits until the others return.
    await start(firstLeader);
    await start(follower);
    await settle(members);
    await waitAcked(acked.length + 100);
    running = false;
    await Promise.all(loops);
    writer.close();
    moved.close();

    // Every acknowledged write is on every member.
    for (const m of members) {
      // sync first: this member has applied everything committed before it answers.
      const raw = await RawClient.connect('127.0.0.1', m.clientPort);
      expect((await raw.request({ op: 9, path: '/' })).header.err).toBe(0);
      raw.close();
      const c = await connect(`127.0.0.1:${m.clientPort}`);
      const missing: string[] = [];
      for (let i = 0; i < acked.length; i += 1) {
        const p = acked[i] as string;
        if (!(await exists(c, p))) missing.push(p);
      }
      c.close();
      expect(missing, `member ${m.id}`).toEqual([]);
      // The run went through snapshots and compaction, not just the log.
      expect((await readdir(path.join(m.dir, 'version-2'))).some((f) => f.startsWith('snapshot.')), `member ${m.id} snapshots`).toBe(true);
    }
  }, 120_000);
});
