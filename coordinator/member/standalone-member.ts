/**
 * A single-member server: the edge that wires disk, clock and sockets around
 * the pure parts. Start-up is lock, recover (newest valid snapshot + log
 * replay), then serve; every write is group-committed before its reply.
 */
import type { Logger } from 'pino';
import type { MemberConfig } from '../config/zoo-cfg.ts';
import { openDataDirs } from './data-dirs.ts';
import { TxnLog } from '../storage/txn-log.ts';
import { decodeTxn } from '../protocol/txn-codec.ts';
import { ReplicatedState } from '../server/replicated-state.ts';
import { ZkServer } from '../server/zk-server.ts';
import { ClientListener } from '../server/client-listener.ts';
import { GroupCommitter } from './group-committer.ts';
import { decodeSnapshot } from './snapshot-codec.ts';
import { Snapshotter, logBytes } from './snapshotter.ts';
import { firstSessionId } from '../session/session-id.ts';
import { collectServerStats } from '../server/server-stats.ts';
import { formatFourLetter, mntrRows, notWhitelistedMessage } from '../server/four-letter-format.ts';
import { startMetricsListener, type MetricsListener } from '../server/metrics-listener.ts';
import { formatPrometheus } from '../server/prometheus-format.ts';

export interface RunningMember {
  readonly host: string;
  readonly port: number;
  readonly config: MemberConfig;
  readonly server: ZkServer;
  /** The Prometheus endpoint (zoo.cfg metricsProvider.*), when configured. */
  readonly metrics: { host: string; port: number } | null;
  /** Resolves when the member has stopped, for whatever reason. */
  readonly stopped: Promise<void>;
  stop(): Promise<void>;
}

/** Deterministic per-deployment key for session passwords; any member can recompute them. */
const SESSION_SECRET = Buffer.from('drover-session-password-v1');

export async function startStandalone(config: MemberConfig, log: Logger): Promise<RunningMember> {
  const startedAt = Date.now();
  const storageLog = log.child({ component: 'storage' });
  const { snapDir, logDir, lock, recovered } = await openDataDirs(config, storageLog);
  const now = Date.now();
  const state = recovered.snapshot ? decodeSnapshot(recovered.snapshot.bytes, config.tickTime, now) : ReplicatedState.empty(config.tickTime);
  for (const entry of recovered.entries) {
    const { header, txn } = decodeTxn(entry.bytes);
    if (header.zxid <= state.lastZxid) continue;
    state.apply(header, txn, now);
  }
  log.info(
    { zxid: '0x' + state.lastZxid.toString(16), snapshotZxid: recovered.snapshot?.zxid, replayed: recovered.entries.length, ms: Date.now() - startedAt },
    'recovered state',
  );

  const txnLog = await TxnLog.open(logDir, { fsync: config.forceSync, log: storageLog, lastZxid: recovered.lastZxid });
  let committer: GroupCommitter | null = null;
  const snapshotter = new Snapshotter({
    snapDir,
    txnLog,
    snapCount: config.snapCount,
    snapSizeLimitBytes: config.snapSizeLimitInKb * 1024,
    retainCount: config.snapRetainCount,
    // The log just replayed is log since the last snapshot: a restart must not reset the count.
    since: { count: recovered.entries.length, bytes: recovered.entries.reduce((n, e) => n + logBytes(e.bytes), 0) },
    log: storageLog,
    state: () => state,
    // A standalone snapshot may only describe durable state.
    settle: async () => {
      await committer?.idle();
      return true;
    },
  });
  const server = new ZkServer({
    config,
    state,
    sink: {
      propose: (e) => {
        committer?.propose(e);
        snapshotter.note(1, logBytes(e.bytes));
      },
    },
    log: log.child({ component: 'server' }),
    now: Date.now,
    firstSessionId: firstSessionId(0, Date.now()),
    sessionSecret: SESSION_SECRET,
  });
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((r) => (resolveStopped = r));
  let stopping: Promise<void> | null = null;
  let metricsListener: MetricsListener | null = null;
  const statsNow = () => collectServerStats(server, { mode: 'standalone', startedAt, config, serverId: 0 });

  committer = new GroupCommitter(
    txnLog,
    state.lastZxid,
    (zxid) => server.onDurable(zxid),
    (err) => {
      // A write we cannot make durable must never be acknowledged: stop serving.
      log.fatal({ err }, 'transaction log write failed; stopping');
      void stop();
    },
  );

  const listener = new ClientListener(server, {
    host: config.clientPortAddress,
    port: config.clientPort,
    maxClientCnxns: config.maxClientCnxns,
    maxFrameBytes: config.maxBuffer,
    log: log.child({ component: 'listener' }),
    fourLetter: (cmd) => {
      if (config.fourLetterWhitelist !== '*' && !config.fourLetterWhitelist.has(cmd)) return notWhitelistedMessage(cmd);
      if (cmd === 'crst') {
        resetConnectionStats(server);
        return 'Connection stats reset.\n';
      }
      if (cmd === 'srst') {
        resetServerStats(server);
        return 'Server stats reset.\n';
      }
      return formatFourLetter(cmd, statsNow());
    },
  });
  const addr = await listener.listen();

  // ---- housekeeping timers
  const tickTimer = setInterval(() => server.expireSessions(Date.now()), Math.max(10, Math.floor(config.tickTime / 2)));
  const reapTimer = setInterval(() => server.reapNodes(Date.now()), config.containerCheckIntervalMs);

  async function stop(): Promise<void> {
    if (stopping) return stopping;
    stopping = (async () => {
      clearInterval(tickTimer);
      clearInterval(reapTimer);
      await metricsListener?.close();
      await listener.close();
      await committer?.idle();
      // A snapshot under way still needs the log (it rolls it) and must finish before the lock goes.
      await snapshotter.idle();
      server.stop();
      await txnLog.close();
      await lock.release();
      log.info('server stopped');
      resolveStopped();
    })();
    return stopping;
  }

  try {
    metricsListener = await startMetricsListener(config.metricsProvider, () => formatPrometheus(mntrRows(statsNow())), log.child({ component: 'metrics' }));
  } catch (err) {
    await stop();
    throw err;
  }

  // A long replayed log is snapshotted now, not at the next write: the next restart is short either way.
  snapshotter.note(0, 0);
  log.info({ host: addr.host, port: addr.port, dataDir: config.dataDir }, 'serving clients');
  return { host: addr.host, port: addr.port, config, server, metrics: metricsListener?.address ?? null, stopped, stop };
}

function resetConnectionStats(server: ZkServer): void {
  for (const c of server.connections) {
    const s = c.stats;
    s.minLatencyMs = Number.MAX_SAFE_INTEGER;
    s.maxLatencyMs = 0;
    s.totalLatencyMs = 0;
    s.latencyCount = 0;
    s.received = 0;
    s.sent = 0;
  }
}

function resetServerStats(server: ZkServer): void {
  const c = server.counters;
  c.packetsReceived = 0;
  c.packetsSent = 0;
  c.minLatencyMs = Number.MAX_SAFE_INTEGER;
  c.maxLatencyMs = 0;
  c.totalLatencyMs = 0;
  c.latencyCount = 0;
}
