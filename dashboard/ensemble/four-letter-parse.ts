/**
 * Reads the text of ZooKeeper's `srvr`, `mntr` and `conf` four-letter words
 * (the formats Drover's core and Apache ZooKeeper both answer in). Pure.
 */
import type { MemberAddress } from './connect-string.ts';

export interface MemberStats {
  /** leader | follower | standalone | observer | unknown */
  mode: string;
  version?: string;
  /** The last zxid, as the 0x-prefixed hex the server prints. */
  zxid?: string;
  connections?: number;
  outstanding?: number;
  nodeCount?: number;
  latency?: { min: number; avg: number; max: number };
  packetsReceived?: number;
  packetsSent?: number;
  watchCount?: number;
  ephemerals?: number;
  approximateDataSize?: number;
  followers?: number;
  syncedFollowers?: number;
}

/** `srvr`: "Key: value" lines. */
export function parseSrvr(text: string): MemberStats {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) fields.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  const stats: MemberStats = { mode: fields.get('Mode') ?? 'unknown' };
  const version = fields.get('Zookeeper version');
  if (version !== undefined) stats.version = version;
  const zxid = fields.get('Zxid');
  if (zxid !== undefined) stats.zxid = zxid;
  setNumber(stats, 'connections', fields.get('Connections'));
  setNumber(stats, 'outstanding', fields.get('Outstanding'));
  setNumber(stats, 'nodeCount', fields.get('Node count'));
  setNumber(stats, 'packetsReceived', fields.get('Received'));
  setNumber(stats, 'packetsSent', fields.get('Sent'));
  const lat = /^([\d.]+)\/([\d.]+)\/([\d.]+)$/.exec(fields.get('Latency min/avg/max') ?? '');
  if (lat) stats.latency = { min: Number(lat[1]), avg: Number(lat[2]), max: Number(lat[3]) };
  return stats;
}

/** `mntr`: "zk_key<TAB>value" lines; merged over what `srvr` said. */
export function parseMntr(text: string, base: MemberStats = { mode: 'unknown' }): MemberStats {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const [key, value] = line.split('\t');
    if (key && value !== undefined) fields.set(key.trim(), value.trim());
  }
  const stats: MemberStats = { ...base };
  const mode = fields.get('zk_server_state');
  if (mode) stats.mode = mode;
  setNumber(stats, 'watchCount', fields.get('zk_watch_count'));
  setNumber(stats, 'ephemerals', fields.get('zk_ephemerals_count'));
  setNumber(stats, 'approximateDataSize', fields.get('zk_approximate_data_size'));
  setNumber(stats, 'followers', fields.get('zk_followers'));
  setNumber(stats, 'syncedFollowers', fields.get('zk_synced_followers'));
  setNumber(stats, 'nodeCount', fields.get('zk_znode_count'));
  setNumber(stats, 'connections', fields.get('zk_num_alive_connections'));
  return stats;
}

type NumericKey = { [K in keyof MemberStats]-?: MemberStats[K] extends number | undefined ? K : never }[keyof MemberStats];

function setNumber(stats: MemberStats, key: NumericKey, text: string | undefined): void {
  if (text === undefined) return;
  const n = Number(text);
  if (Number.isFinite(n)) stats[key] = n;
}

/** A server line of `conf`'s membership: its id and client address. */
export interface ConfMember extends MemberAddress {
  id: number;
}

/**
 * `conf`: the answering server's own `serverId`, and, for an ensemble
 * member, the `membership:` section that ends it — the ensemble's server
 * lines (`server.N=host:quorum:election[:role][;[clientHost:]clientPort]`,
 * ZooKeeper 3.5+) as each server's id and client address (a client host
 * of 0.0.0.0, or none, is the server's own host). No members for a
 * standalone server; no serverId when the word is not allowed.
 */
export function parseConf(text: string): { serverId?: number; members: ConfMember[] } {
  const id = /^serverId=(\d+)$/m.exec(text)?.[1];
  const out: { serverId?: number; members: ConfMember[] } = { members: [] };
  if (id !== undefined) out.serverId = Number(id);
  const at = text.indexOf('membership:');
  if (at === -1) return out;
  for (const line of text.slice(at).split('\n')) {
    const m = /^server\.(\d+)=(\[[^\]]+\]|[^:;]+):\d+:\d+(?::\w+)?;(?:(\[[^\]]+\]|[^:;]+):)?(\d+)\s*$/.exec(line.trim());
    if (!m?.[1] || !m[2] || !m[4]) continue;
    const clientHost = m[3] && m[3] !== '0.0.0.0' && m[3] !== '[::]' ? m[3] : m[2];
    out.members.push({ id: Number(m[1]), host: clientHost.replace(/^\[|\]$/g, ''), port: Number(m[4]) });
  }
  return out;
}
