/** Gathers what the four-letter words report from a running server. */
import { readdirSync } from 'node:fs';
import os from 'node:os';
import type { ZkServer } from './zk-server.ts';
import type { MemberConfig } from '../config/zoo-cfg.ts';
import type { ServerStats } from './four-letter-format.ts';

export interface StatsContext {
  mode: ServerStats['mode'];
  startedAt: number;
  config: MemberConfig;
  serverId: number;
  /** Leader only: followers, synced followers, pending syncs, observers (mntr). */
  learners?: { learners: number; synced: number; pendingSyncs: number; observers?: number };
  /** An ensemble member's quorum settings and configuration in force, for `conf` (ADR 0011). */
  quorum?: { electionPort: number; quorumPort: number; observer: boolean; membership: string };
}

/** The packet and latency counters a server keeps (stat, srvr, mntr, cons). */
export interface ServerCounters {
  packetsReceived: number;
  packetsSent: number;
  minLatencyMs: number;
  maxLatencyMs: number;
  totalLatencyMs: number;
  latencyCount: number;
}

export function newServerCounters(): ServerCounters {
  return { packetsReceived: 0, packetsSent: 0, minLatencyMs: Number.MAX_SAFE_INTEGER, maxLatencyMs: 0, totalLatencyMs: 0, latencyCount: 0 };
}

function openFds(): number {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return -1;
  }
}

export function collectServerStats(server: ZkServer, ctx: StatsContext): ServerStats {
  const c = server.counters;
  const state = server.state;
  const cfg = ctx.config;
  const connections = [...server.connections]
    .filter((conn) => conn.handshakeDone)
    .map((conn) => {
      const s = conn.stats;
      return {
        remote: `/${conn.remoteAddress}:${conn.remotePort}`,
        queued: conn.queued,
        received: s.received,
        sent: s.sent,
        sessionId: conn.sessionId,
        lastOp: s.lastOp,
        establishedAt: s.establishedAt,
        timeoutMs: state.sessions.timeoutOf(conn.sessionId) ?? 0,
        lastCxid: s.lastCxid,
        lastZxid: s.lastZxid,
        lastResponseAt: Math.round(s.lastResponseAt),
        lastLatencyMs: Math.round(s.lastLatencyMs),
        minLatencyMs: s.latencyCount > 0 ? Math.round(s.minLatencyMs) : 0,
        avgLatencyMs: s.latencyCount > 0 ? s.totalLatencyMs / s.latencyCount : 0,
        maxLatencyMs: Math.round(s.maxLatencyMs),
      };
    });
  const watchers = server.watches;
  const sessionOf = (w: { sessionId: bigint }): bigint => w.sessionId;
  const outstanding = [...server.connections].reduce((n, conn) => n + conn.queued, 0);
  return {
    mode: ctx.mode,
    latencyMin: c.latencyCount > 0 ? Math.round(c.minLatencyMs) : 0,
    latencyAvg: c.latencyCount > 0 ? c.totalLatencyMs / c.latencyCount : 0,
    latencyMax: Math.round(c.maxLatencyMs),
    packetsReceived: c.packetsReceived,
    packetsSent: c.packetsSent,
    connections,
    outstanding,
    zxid: server.lastZxid,
    nodeCount: state.tree.nodeCount,
    watchCount: watchers.watchCount,
    watchPaths: watchers.pathCount,
    watchingConnections: watchers.watcherCount,
    dataWatchCount: watchers.dataWatchCount,
    ephemeralsCount: state.tree.ephemeralCount,
    approximateDataSize: state.tree.approximateDataSize,
    sessions: [...state.sessions.entries()].map((e) => ({ id: e.id, timeoutMs: e.timeoutMs, expiresAt: e.expiresAt })),
    ephemerals: [...state.tree.sessionsWithEphemerals()].map(([sid, paths]) => [sid, [...paths]]),
    watchesByConnection: [...watchers.byWatcher()].map(([w, paths]) => [sessionOf(w), paths]),
    watchesByPath: [...watchers.byPath()].map(([p, ws]) => [p, ws.map(sessionOf)]),
    config: [
      ['clientPort', cfg.clientPort],
      ['secureClientPort', -1],
      ['dataDir', cfg.dataDir + '/version-2'],
      ['dataDirSize', 0],
      ['dataLogDir', cfg.dataLogDir + '/version-2'],
      ['dataLogSize', 0],
      ['tickTime', cfg.tickTime],
      ['maxClientCnxns', cfg.maxClientCnxns],
      ['minSessionTimeout', cfg.minSessionTimeout],
      ['maxSessionTimeout', cfg.maxSessionTimeout],
      ['clientPortListenBacklog', -1],
      ['serverId', ctx.serverId],
      ...(ctx.quorum
        ? ([
            ['initLimit', cfg.initLimit],
            ['syncLimit', cfg.syncLimit],
            ['electionAlg', 3],
            ['electionPort', ctx.quorum.electionPort],
            ['quorumPort', ctx.quorum.quorumPort],
            // LearnerType's ordinal: 0 participant, 1 observer.
            ['peerType', ctx.quorum.observer ? 1 : 0],
          ] as [string, number][])
        : []),
    ],
    ...(ctx.quorum ? { membership: ctx.quorum.membership } : {}),
    environment: [
      ['host.name', os.hostname()],
      ['java.version', 'n/a (drover on node ' + process.version + ')'],
      ['java.vendor', 'n/a'],
      ['java.home', 'n/a'],
      ['java.class.path', 'n/a'],
      ['java.library.path', 'n/a'],
      ['java.io.tmpdir', os.tmpdir()],
      ['java.compiler', '<NA>'],
      ['os.name', os.type()],
      ['os.arch', os.arch()],
      ['os.version', os.release()],
      ['user.name', os.userInfo().username],
      ['user.home', os.homedir()],
      ['user.dir', process.cwd()],
      ['os.memory.free', `${Math.round(os.freemem() / 1048576)}MB`],
      ['os.memory.max', `${Math.round(os.totalmem() / 1048576)}MB`],
      ['os.memory.total', `${Math.round(process.memoryUsage().rss / 1048576)}MB`],
    ],
    openFileDescriptors: openFds(),
    maxFileDescriptors: 1048576,
    dataDirBytes: 0,
    logDirBytes: 0,
    ...(ctx.learners
      ? { learners: ctx.learners.learners, syncedFollowers: ctx.learners.synced, pendingSyncs: ctx.learners.pendingSyncs, observers: ctx.learners.observers ?? 0 }
      : {}),
  };
}
