/**
 * A 3-member Apache ZooKeeper 3.8 ensemble (Debian's `zookeeper` package)
 * with reconfigEnabled=true, on free ports and fresh dirs: the reference
 * the reconfig conformance test is proven on. Readiness is probed with
 * `srvr` (a Mode line on every member), never assumed after a sleep.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePorts } from './drover-target.ts';
import { fourLetter } from './four-letter.ts';
import { apacheZkAvailable } from './apache-zk.ts';

const JAR = '/usr/share/java/zookeeper.jar';
const SLF4J = '/usr/share/java/slf4j-simple.jar';

export { apacheZkAvailable };

export interface ZkEnsembleMember {
  id: number;
  clientPort: number;
  quorumPort: number;
  electionPort: number;
}

export interface ApacheZkEnsemble {
  members: ZkEnsembleMember[];
  stop(): Promise<void>;
}

export async function startApacheZkEnsemble(opts: { superDigest: string; tickTime?: number }): Promise<ApacheZkEnsemble> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'apache-zk-ens-'));
  const members: ZkEnsembleMember[] = [];
  const ports = await freePorts(9);
  for (const id of [1, 2, 3]) members.push({ id, clientPort: ports[3 * id - 3] as number, quorumPort: ports[3 * id - 2] as number, electionPort: ports[3 * id - 1] as number });
  const serverLines = members.map((m) => `server.${m.id}=127.0.0.1:${m.quorumPort}:${m.electionPort}:participant;127.0.0.1:${m.clientPort}`);
  const children: { child: ChildProcess; exit: Promise<void>; exited: () => boolean; stderr: () => string }[] = [];
  for (const m of members) {
    const dataDir = await mkdtemp(path.join(root, `data${m.id}-`));
    await writeFile(path.join(dataDir, 'myid'), `${m.id}\n`);
    const cfg = [
      `tickTime=${opts.tickTime ?? 200}`,
      'initLimit=20',
      'syncLimit=10',
      `dataDir=${dataDir}`,
      '4lw.commands.whitelist=*',
      'admin.enableServer=false',
      'maxClientCnxns=0',
      'reconfigEnabled=true',
      ...serverLines,
    ].join('\n');
    const cfgFile = path.join(dataDir, 'zoo.cfg');
    await writeFile(cfgFile, cfg + '\n');
    const props = ['-Xmx256m', '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn', '-Dzookeeper.admin.enableServer=false', `-Dzookeeper.DigestAuthenticationProvider.superDigest=${opts.superDigest}`];
    const child = spawn('java', [...props, '-cp', `${JAR}:${SLF4J}`, 'org.apache.zookeeper.server.quorum.QuorumPeerMain', cfgFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let exited = false;
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
    children.push({ child, exit, exited: () => exited, stderr: () => stderr });
  }
  const stop = async (): Promise<void> => {
    for (const c of children) if (!c.exited()) c.child.kill('SIGKILL');
    await Promise.all(children.map((c) => c.exit));
    await rm(root, { recursive: true, force: true });
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    const dead = children.find((c) => c.exited());
    if (dead) {
      await stop();
      throw new Error(`an Apache ZooKeeper member exited during start-up:\n${dead.stderr()}`);
    }
    const modes = await Promise.all(members.map((m) => fourLetter('127.0.0.1', m.clientPort, 'srvr', 1000).catch(() => '')));
    if (modes.every((s) => /^Mode: (leader|follower)/m.test(s))) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error('the Apache ZooKeeper ensemble did not serve within 60 s');
    }
    // Readiness probe interval: the JVMs give us nothing to await.
    await new Promise((r) => setTimeout(r, 200));
  }
  return { members, stop };
}
