/**
 * Apache ZooKeeper 3.8 from Debian's `zookeeper` package, started on a free
 * port with a fresh data dir: the reference the conformance suite is proven
 * on. Readiness is probed with `ruok`, never assumed after a sleep.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './drover-target.ts';
import { fourLetter } from './four-letter.ts';
import type { Target, TargetOptions } from './target.ts';

const JAR = '/usr/share/java/zookeeper.jar';
const SLF4J = '/usr/share/java/slf4j-simple.jar';

export function apacheZkAvailable(): boolean {
  return existsSync(JAR);
}

export async function startApacheZk(opts: TargetOptions = {}): Promise<Target> {
  if (!apacheZkAvailable()) {
    throw new Error(`Apache ZooKeeper is not installed (${JAR} missing): apt-get install -y zookeeper (.ci/run does this)`);
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'apache-zk-'));
  const port = await freePort();
  const tickTime = opts.tickTime ?? 2000;
  const cfg = [
    `tickTime=${tickTime}`,
    `dataDir=${dir}`,
    `clientPort=${port}`,
    'clientPortAddress=127.0.0.1',
    '4lw.commands.whitelist=*',
    'admin.enableServer=false',
    `maxClientCnxns=${opts.maxClientCnxns ?? 0}`,
  ].join('\n');
  await writeFile(path.join(dir, 'zoo.cfg'), cfg + '\n');
  const props = [`-Xmx${opts.heapMb ?? 256}m`, '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn', '-Dzookeeper.admin.enableServer=false'];
  if (opts.superDigest) props.push(`-Dzookeeper.DigestAuthenticationProvider.superDigest=${opts.superDigest}`);
  if (opts.extendedTypesEnabled) props.push('-Dzookeeper.extendedTypesEnabled=true');
  if (opts.containerCheckIntervalMs) props.push(`-Dznode.container.checkIntervalMs=${opts.containerCheckIntervalMs}`);
  const child = spawn('java', [...props, '-cp', `${JAR}:${SLF4J}`, 'org.apache.zookeeper.server.quorum.QuorumPeerMain', path.join(dir, 'zoo.cfg')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) throw new Error(`Apache ZooKeeper exited during start-up:\n${stderr}`);
    // ruok answers before sessions are served; srvr shows Mode: only once they are.
    const answer = await fourLetter('127.0.0.1', port, 'srvr', 1000).catch(() => '');
    if (/^Mode: /m.test(answer)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`Apache ZooKeeper did not report a Mode within 30 s:\n${stderr}`);
    }
    // Readiness probe interval, not a stand-in for an event: the JVM gives us nothing to await.
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    name: 'zookeeper',
    host: '127.0.0.1',
    port,
    connectString: `127.0.0.1:${port}`,
    async stop() {
      if (!exited) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exit;
        clearTimeout(t);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
