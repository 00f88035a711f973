/**
 * Real processes for ensemble tests and benchmarks: N `drover server
 * --config zoo.cfg` members, or N Apache ZooKeeper 3.8 JVMs, on loopback,
 * each with its own data dir and myid. `settle()` probes srvr until one
 * leader serves and every live member follows it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePorts, spawnDrover } from './drover-target.ts';
import { fourLetter } from './four-letter.ts';

export interface ProcessMember {
  id: number;
  dir: string;
  cfg: string;
  clientPort: number;
  child: ChildProcess | null;
  exited: Promise<unknown> | null;
}

export interface ProcessEnsemble {
  kind: 'drover' | 'zookeeper';
  members: ProcessMember[];
  connectString: string;
  start(m: ProcessMember): Promise<void>;
  kill(m: ProcessMember): Promise<void>;
  settle(timeoutMs?: number): Promise<ProcessMember>;
  stop(): Promise<void>;
}

async function mode(port: number): Promise<string> {
  const srvr = await fourLetter('127.0.0.1', port, 'srvr', 1000).catch(() => '');
  return /^Mode: (\w+)/m.exec(srvr)?.[1] ?? 'down';
}

/** `droverBin`: the CLI the Drover members run (spawnDrover's default: the sources). */
export async function startProcessEnsemble(kind: 'drover' | 'zookeeper', n: number, tickTime: number, opts: { droverBin?: string } = {}): Promise<ProcessEnsemble> {
  const ports = await freePorts(n * 3);
  const members: ProcessMember[] = [];
  const lines = Array.from({ length: n }, (_, i) => `server.${i + 1}=127.0.0.1:${ports[n + 2 * i]}:${ports[n + 2 * i + 1]}`);
  for (let i = 0; i < n; i++) {
    const id = i + 1;
    const dir = await mkdtemp(path.join(os.tmpdir(), `${kind}-ens${id}-`));
    const clientPort = ports[i] as number;
    const cfg = path.join(dir, 'zoo.cfg');
    await writeFile(path.join(dir, 'myid'), `${id}\n`);
    const extra = kind === 'zookeeper' ? ['admin.enableServer=false', 'maxClientCnxns=0'] : [];
    await writeFile(
      cfg,
      [`tickTime=${tickTime}`, 'initLimit=10', 'syncLimit=5', `dataDir=${dir}`, `clientPort=${clientPort}`, 'clientPortAddress=127.0.0.1', '4lw.commands.whitelist=*', ...extra, ...lines].join('\n') + '\n',
    );
    members.push({ id, dir, cfg, clientPort, child: null, exited: null });
  }
  const ensemble: ProcessEnsemble = {
    kind,
    members,
    connectString: members.map((m) => `127.0.0.1:${m.clientPort}`).join(','),
    async start(m) {
      if (kind === 'drover') {
        const p = await spawnDrover(['--config', m.cfg], m.clientPort, opts.droverBin);
        m.child = p.child;
        m.exited = p.exited;
        return;
      }
      const child = spawn(
        'java',
        ['-Xmx512m', '-Dorg.slf4j.simpleLogger.defaultLogLevel=error', '-cp', '/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar', 'org.apache.zookeeper.server.quorum.QuorumPeerMain', m.cfg],
        { stdio: 'ignore' },
      );
      m.child = child;
      m.exited = new Promise((resolve) => child.once('exit', resolve));
    },
    async kill(m) {
      m.child?.kill('SIGKILL');
      await m.exited;
      m.child = null;
      m.exited = null;
    },
    async settle(timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const live = members.filter((m) => m.child);
        const modes = await Promise.all(live.map((m) => mode(m.clientPort)));
        const leaders = live.filter((_, i) => modes[i] === 'leader');
        if (leaders.length === 1 && modes.every((x) => x === 'leader' || x === 'follower')) return leaders[0] as ProcessMember;
        if (Date.now() > deadline) throw new Error(`${kind} ensemble did not settle: ${modes.join(',')}`);
        await new Promise((r) => setTimeout(r, 50)); // probe interval
      }
    },
    async stop() {
      for (const m of members) await ensemble.kill(m);
      for (const m of members) await rm(m.dir, { recursive: true, force: true });
    },
  };
  await Promise.all(members.map((m) => ensemble.start(m)));
  await ensemble.settle();
  return ensemble;
}
