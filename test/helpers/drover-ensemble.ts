/**
 * A Drover ensemble in one process: N members on loopback with real TCP
 * between them, fresh data dirs, free ports. `ready()` waits until one
 * leader is established and every member serves.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { defaultConfig } from '../../coordinator/index.ts';
import { startEnsembleMember } from '../../coordinator/member/ensemble-member.ts';
import type { RunningMember } from '../../coordinator/member/ensemble-member.ts';
import { silentLogger } from '../../coordinator/base/log.ts';
import { freePorts } from './drover-target.ts';
import { fourLetter } from './four-letter.ts';
import type { Target, TargetOptions } from './target.ts';

export interface Ensemble {
  members: RunningMember[];
  clientPorts: number[];
  modes(): Promise<string[]>;
  stop(): Promise<void>;
}

export async function startDroverEnsemble(n: number, opts: TargetOptions = {}): Promise<Ensemble> {
  const tickTime = opts.tickTime ?? 200;
  const dirs = await Promise.all(Array.from({ length: n }, () => mkdtemp(path.join(os.tmpdir(), 'drover-ens-'))));
  const ports = await freePorts(2 * n);
  const quorumPorts = ports.slice(0, n);
  const clientPorts = ports.slice(n);
  const servers = quorumPorts.map((q, i) => ({ id: i + 1, host: '127.0.0.1', quorumPort: q, electionPort: q, role: 'participant' as const, clientPort: clientPorts[i] as number }));
  const members = await Promise.all(
    dirs.map((dir, i) =>
      startEnsembleMember(
        defaultConfig({
          dataDir: dir,
          dataLogDir: dir,
          clientPort: clientPorts[i] as number,
          clientPortAddress: '127.0.0.1',
          tickTime,
          initLimit: 10,
          syncLimit: 5,
          minSessionTimeout: 2 * tickTime,
          maxSessionTimeout: 20 * tickTime,
          fourLetterWhitelist: '*',
          maxClientCnxns: opts.maxClientCnxns ?? 0,
          extendedTypesEnabled: opts.extendedTypesEnabled ?? false,
          containerCheckIntervalMs: opts.containerCheckIntervalMs ?? 60_000,
          servers,
          ...(opts.superDigest ? { superDigest: opts.superDigest } : {}),
        }),
        i + 1,
        silentLogger(),
      ),
    ),
  );
  const ensemble: Ensemble = {
    members,
    clientPorts,
    async modes() {
      return Promise.all(clientPorts.map(async (p) => (/Mode: (\w+)/.exec(await fourLetter('127.0.0.1', p, 'srvr').catch(() => '')) ?? [])[1] ?? 'down'));
    },
    async stop() {
      await Promise.all(members.map((m) => m.stop()));
      await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
    },
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    const modes = await ensemble.modes();
    if (modes.filter((m) => m === 'leader').length === 1 && modes.every((m) => m === 'leader' || m === 'follower')) break;
    if (Date.now() > deadline) throw new Error(`ensemble did not settle: ${modes.join(', ')}`);
    await new Promise((r) => setTimeout(r, 50)); // readiness probe interval
  }
  return ensemble;
}

/** The conformance target: a 3-member ensemble, clients connected to a follower. */
export async function startDroverEnsembleTarget(opts: TargetOptions = {}): Promise<Target> {
  const e = await startDroverEnsemble(3, opts);
  const modes = await e.modes();
  const follower = modes.indexOf('follower');
  const port = e.clientPorts[follower] as number;
  return { name: 'drover', host: '127.0.0.1', port, connectString: `127.0.0.1:${port}`, stop: () => e.stop() };
}
