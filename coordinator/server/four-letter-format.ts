/**
 * Four-letter words in Apache ZooKeeper 3.8's text formats, so zkCli, zktop,
 * kazoo's server_version() and monitoring scripts read them unchanged. Pure:
 * the caller gathers a ServerStats snapshot.
 */

export const ZK_VERSION = '3.8.4-drover';
const BUILT = 'built on 2026-11-24 00:00 UTC';

export interface ConnectionInfo {
  remote: string; // "/127.0.0.1:54321"
  queued: number;
  received: number;
  sent: number;
  sessionId: bigint;
  lastOp: string;
  establishedAt: number;
  timeoutMs: number;
  lastCxid: number;
  lastZxid: number;
  lastResponseAt: number;
  lastLatencyMs: number;
  minLatencyMs: number;
  avgLatencyMs: number;
  maxLatencyMs: number;
}

export interface ServerStats {
  mode: 'standalone' | 'leader' | 'follower' | 'observer' | 'read-only';
  latencyMin: number;
  latencyAvg: number;
  latencyMax: number;
  packetsReceived: number;
  packetsSent: number;
  connections: ConnectionInfo[];
  outstanding: number;
  zxid: number;
  nodeCount: number;
  watchCount: number;
  watchPaths: number;
  watchingConnections: number;
  dataWatchCount: number;
  ephemeralsCount: number;
  approximateDataSize: number;
  sessions: { id: bigint; timeoutMs: number; expiresAt: number }[];
  ephemerals: [bigint, readonly string[]][];
  watchesByConnection: [bigint, string[]][];
  watchesByPath: [string, bigint[]][];
  config: [string, string | number][];
  /** An ensemble member's configuration text, which `conf` ends with after `membership: ` (as QuorumZooKeeperServer.dumpConf). */
  membership?: string;
  environment: [string, string][];
  openFileDescriptors: number;
  maxFileDescriptors: number;
  dataDirBytes: number;
  logDirBytes: number;
  /** Leader-only metrics (next issue). */
  learners?: number;
  syncedFollowers?: number;
  pendingSyncs?: number;
  /** Observers connected to this leader. */
  observers?: number;
}

const hex = (n: bigint | number): string => '0x' + (typeof n === 'bigint' ? BigInt.asUintN(64, n) : n).toString(16);

function latencyLine(s: ServerStats): string {
  return `Latency min/avg/max: ${s.latencyMin}/${s.latencyAvg.toFixed(4)}/${s.latencyMax}`;
}

function srvrBody(s: ServerStats): string[] {
  return [
    latencyLine(s),
    `Received: ${s.packetsReceived}`,
    `Sent: ${s.packetsSent}`,
    `Connections: ${s.connections.length}`,
    `Outstanding: ${s.outstanding}`,
    `Zxid: ${hex(s.zxid)}`,
    `Mode: ${s.mode}`,
    `Node count: ${s.nodeCount}`,
    ...(s.mode === 'leader' ? ['Proposal sizes last/min/max: -1/-1/-1'] : []),
  ];
}

function consLine(c: ConnectionInfo): string {
  return (
    ` ${c.remote}[1](queued=${c.queued},recved=${c.received},sent=${c.sent},sid=${hex(c.sessionId)},lop=${c.lastOp},` +
    `est=${c.establishedAt},to=${c.timeoutMs},lcxid=${hex(c.lastCxid < 0 ? 0 : c.lastCxid)},lzxid=${hex(c.lastZxid < 0 ? 0 : c.lastZxid)},` +
    `lresp=${c.lastResponseAt},llat=${c.lastLatencyMs},minlat=${c.minLatencyMs},avglat=${c.avgLatencyMs.toFixed(4)},maxlat=${c.maxLatencyMs})`
  );
}

export function notWhitelistedMessage(cmd: string): string {
  return `${cmd} is not executed because it is not in the whitelist.\n`;
}

export function formatFourLetter(cmd: string, s: ServerStats): string {
  const version = `Zookeeper version: ${ZK_VERSION}, ${BUILT}`;
  switch (cmd) {
    case 'ruok':
      return 'imok';
    case 'isro':
      return 'rw';
    case 'srvr':
      return [version, ...srvrBody(s)].join('\n') + '\n';
    case 'stat':
      return [version, 'Clients:', ...s.connections.map((c) => ` ${c.remote}[1](queued=${c.queued},recved=${c.received},sent=${c.sent})`), '', ...srvrBody(s)].join('\n') + '\n';
    case 'cons':
      return s.connections.map(consLine).join('\n') + '\n\n';
    case 'conf':
      return s.config.map(([k, v]) => `${k}=${v}`).join('\n') + '\n' + (s.membership !== undefined ? `membership: \n${s.membership}\n` : '');
    case 'envi':
      return ['Environment:', `zookeeper.version=${ZK_VERSION}, ${BUILT}`, ...s.environment.map(([k, v]) => `${k}=${v}`)].join('\n') + '\n';
    case 'wchs':
      return `${s.watchingConnections} connections watching ${s.watchPaths} paths\nTotal watches:${s.dataWatchCount}\n`;
    case 'wchc':
      return s.watchesByConnection.map(([sid, paths]) => `${hex(sid)}\n${paths.map((p) => `\t${p}\n`).join('')}`).join('\n') + '\n';
    case 'wchp':
      return s.watchesByPath.map(([p, sids]) => `${p}\n${sids.map((sid) => `\t${hex(sid)}\n`).join('')}`).join('') + '\n';
    case 'dump':
      return dump(s);
    case 'mntr':
      return mntr(s);
    case 'dirs':
      return `datadir_size: ${s.dataDirBytes}\nlogdir_size: ${s.logDirBytes}\n`;
    case 'crst':
      return 'Connection stats reset.\n';
    case 'srst':
      return 'Server stats reset.\n';
    case 'gtmk':
      return '0\n';
    case 'stmk':
      return '0\n';
    case 'hash':
      return 'Digest is not enabled.\n';
    default:
      return `Unknown command: ${cmd}\n`;
  }
}

function dump(s: ServerStats): string {
  const byTime = new Map<number, bigint[]>();
  for (const sess of s.sessions) {
    const list = byTime.get(sess.expiresAt) ?? [];
    list.push(sess.id);
    byTime.set(sess.expiresAt, list);
  }
  const lines = ['SessionTracker dump:', `Session Sets (${byTime.size})/(${s.sessions.length}):`];
  for (const [at, ids] of [...byTime].sort((a, b) => a[0] - b[0])) {
    lines.push(`${ids.length} expire at ${new Date(at).toUTCString()}:`);
    for (const id of ids) lines.push(`\t${hex(id)}`);
  }
  lines.push('ephemeral nodes dump:', `Sessions with Ephemerals (${s.ephemerals.length}):`);
  for (const [sid, paths] of s.ephemerals) {
    lines.push(`${hex(sid)}:`);
    for (const p of paths) lines.push(`\t${p}`);
  }
  lines.push('Connections dump:', `Connections Sets (0)/(${s.connections.length}):`);
  return lines.join('\n') + '\n';
}

/** The `mntr` keys and values in order; the Prometheus endpoint serves the same rows. */
export function mntrRows(s: ServerStats): [string, string | number][] {
  const rows: [string, string | number][] = [
    ['zk_version', `${ZK_VERSION}, ${BUILT}`],
    ['zk_server_state', s.mode],
    ['zk_avg_latency', s.latencyAvg.toFixed(4)],
    ['zk_max_latency', s.latencyMax],
    ['zk_min_latency', s.latencyMin],
    ['zk_packets_received', s.packetsReceived],
    ['zk_packets_sent', s.packetsSent],
    ['zk_num_alive_connections', s.connections.length],
    ['zk_outstanding_requests', s.outstanding],
    ['zk_znode_count', s.nodeCount],
    ['zk_watch_count', s.watchCount],
    ['zk_ephemerals_count', s.ephemeralsCount],
    ['zk_approximate_data_size', s.approximateDataSize],
    ['zk_open_file_descriptor_count', s.openFileDescriptors],
    ['zk_max_file_descriptor_count', s.maxFileDescriptors],
    ['zk_global_sessions', s.sessions.length],
    ['zk_last_proposal_size', -1],
  ];
  // As ZooKeeper: learners are followers and observers.
  if (s.learners !== undefined) rows.push(['zk_learners', s.learners + (s.observers ?? 0)], ['zk_followers', s.learners]);
  if (s.mode === 'leader' || s.mode === 'follower' || s.mode === 'observer') {
    rows.push(['zk_peer_state', `${s.mode === 'leader' ? 'leading' : s.mode === 'observer' ? 'observing' : 'following'} - broadcast`]);
  }
  if (s.syncedFollowers !== undefined) rows.push(['zk_synced_followers', s.syncedFollowers]);
  if (s.pendingSyncs !== undefined) rows.push(['zk_pending_syncs', s.pendingSyncs]);
  if (s.observers !== undefined) rows.push(['zk_synced_observers', s.observers]);
  return rows;
}

/** What a member not serving (electing) reports where rows are wanted: ZooKeeper's state name for it. */
export function notServingMntrRows(): [string, string | number][] {
  return [
    ['zk_version', `${ZK_VERSION}, ${BUILT}`],
    ['zk_server_state', 'leaderelection'],
  ];
}

function mntr(s: ServerStats): string {
  return mntrRows(s).map(([k, v]) => `${k}\t${v}`).join('\n') + '\n';
}
