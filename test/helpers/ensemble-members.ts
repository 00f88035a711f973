/**
 * In-process ensemble members that can be stopped and restarted on their own
 * data dirs, each with its log lines captured (tests read what a member
 * decided, e.g. how it synchronized a follower). Real TCP between members.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino, type Logger } from 'pino';
import { defaultConfig } from '../../coordinator/index.ts';
import type { MemberConfig } from '../../coordinator/config/zoo-cfg.ts';
import { startEnsembleMember } from '../../coordinator/member/ensemble-member.ts';
import type { RunningMember } from '../../coordinator/member/ensemble-member.ts';
import { freePorts } from './drover-target.ts';
import { fourLetter } from './four-letter.ts';

export interface LogLine {
  msg?: string;
  follower?: number;
  mode?: string;
}

export interface Member {
  id: number;
  config: MemberConfig;
  running: RunningMember | null;
  /** Every log line of this member, parsed. */
  lines: LogLine[];
}

export interface MemberSpec {
  tickTime?: number;
  snapCount?: number;
  /** Ids (1-based) that are observers. */
  observers?: readonly number[];
}

function capturingLogger(lines: LogLine[]): Logger {
  return pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
}

/** Configures `n` members on fresh dirs and free ports; nothing is started. */
export async function configureMembers(n: number, spec: MemberSpec = {}): Promise<Member[]> {
  const tickTime = spec.tickTime ?? 200;
  const ids = Array.from({ length: n }, (_, i) => i + 1);
  const ports = await freePorts(2 * n);
  const quorumPorts = ports.slice(0, n);
  const clientPorts = ports.slice(n);
  const servers = ids.map((id, i) => ({
    id,
    host: '127.0.0.1',
    quorumPort: quorumPorts[i] as number,
    electionPort: quorumPorts[i] as number,
    role: spec.observers?.includes(id) ? ('observer' as const) : ('participant' as const),
    clientPort: clientPorts[i] as number,
  }));
  const members: Member[] = [];
  for (const id of ids) {
    const dir = await mkdtemp(path.join(os.tmpdir(), `drover-member${id}-`));
    const config = defaultConfig({
      dataDir: dir,
      dataLogDir: dir,
      clientPort: clientPorts[id - 1] as number,
      clientPortAddress: '127.0.0.1',
      tickTime,
      initLimit: 10,
      syncLimit: 5,
      ...(spec.snapCount !== undefined ? { snapCount: spec.snapCount } : {}),
      minSessionTimeout: 2 * tickTime,
      maxSessionTimeout: 20 * tickTime,
      fourLetterWhitelist: '*',
      servers,
    });
    members.push({ id, config, running: null, lines: [] });
  }
  return members;
}

export async function startMember(m: Member): Promise<void> {
  m.running = await startEnsembleMember(m.config, m.id, capturingLogger(m.lines));
}

export async function stopMember(m: Member): Promise<void> {
  await m.running?.stop();
  m.running = null;
}

export async function removeMembers(members: readonly Member[]): Promise<void> {
  for (const m of members) {
    await stopMember(m);
    await rm(m.config.dataDir, { recursive: true, force: true });
  }
}

/** srvr's Mode line ('down' when it does not answer or does not serve). */
export async function modeOf(m: Member): Promise<string> {
  if (!m.running) return 'down';
  const srvr = await fourLetter('127.0.0.1', m.config.clientPort, 'srvr', 1000).catch(() => '');
  return /^Mode: (\w+)/m.exec(srvr)?.[1] ?? 'down';
}

/** Waits (probing srvr) until `done(modes of the running members)` holds. */
export async function waitForModes(members: readonly Member[], done: (modes: string[]) => boolean, what: string): Promise<string[]> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const modes = await Promise.all(members.filter((m) => m.running).map(modeOf));
    if (done(modes)) return modes;
    if (Date.now() > deadline) throw new Error(`${what}: still ${modes.join(',')}`);
    await new Promise((r) => setTimeout(r, 50)); // probe interval
  }
}

/** Waits until one leader serves and every running member follows or observes it; returns the leader. */
export async function settle(members: readonly Member[]): Promise<Member> {
  const serving = (m: string): boolean => m === 'leader' || m === 'follower' || m === 'observer';
  await waitForModes(members, (modes) => modes.filter((m) => m === 'leader').length === 1 && modes.every(serving), 'no stable leader');
  const live = members.filter((m) => m.running);
  const modes = await Promise.all(live.map(modeOf));
  const leader = live[modes.indexOf('leader')];
  if (!leader) throw new Error('the leader moved while settling');
  return leader;
}

export async function snapshotFiles(m: Member): Promise<string[]> {
  return (await readdir(path.join(m.config.dataDir, 'version-2'))).filter((f) => f.startsWith('snapshot.'));
}

export function connectStringOf(members: readonly Member[]): string {
  return members.map((m) => `127.0.0.1:${m.config.clientPort}`).join(',');
}
