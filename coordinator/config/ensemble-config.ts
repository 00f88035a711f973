/**
 * The ensemble's configuration as ZooKeeper 3.5+ writes it (pure): the text
 * of `/zookeeper/config` and of `zoo.cfg.dynamic.<version>` — one
 * `server.N=host:quorumPort:electionPort:participant|observer;clientHost:clientPort`
 * line per member in id order, then `version=<hex zxid>` — and the next
 * configuration a `reconfig` request asks for, incremental (joining /
 * leaving) or not (newMembers), with ZooKeeper's checks (PrepRequestProcessor,
 * QuorumMaj, QuorumPeerConfig.parseDynamicConfig). ADR 0011.
 */
import { ConfigError, parseServer, type ServerEntry } from './zoo-cfg.ts';
import { ErrorCode, ZkError } from '../protocol/error-codes.ts';

export interface EnsembleConfig {
  /** The zxid of the reconfig that made it; 0 for the one zoo.cfg gives. */
  version: number;
  /** In id order. */
  servers: readonly ServerEntry[];
}

/** A server's spec, as QuorumServer.toString writes it (a client port without a host shows 0.0.0.0). */
export function serverSpec(s: ServerEntry): string {
  const client = s.clientPort !== undefined ? `;${s.clientHost ?? '0.0.0.0'}:${s.clientPort}` : '';
  return `${s.host}:${s.quorumPort}:${s.electionPort}:${s.role}${client}`;
}

/** The text of `/zookeeper/config` (no trailing newline, as ZooKeeper's). */
export function formatEnsembleConfig(c: EnsembleConfig): string {
  const lines = [...c.servers].sort((a, b) => a.id - b.id).map((s) => `server.${s.id}=${serverSpec(s)}`);
  lines.push(`version=${c.version.toString(16)}`);
  return lines.join('\n');
}

/** Reads `server.N=` lines and `version=<hex>`; anything else is an error (as parseDynamicConfig). */
export function parseEnsembleConfig(text: string): EnsembleConfig {
  const servers: ServerEntry[] = [];
  let version = 0;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = (lines[i] as string).trim();
    if (raw === '' || raw.startsWith('#')) continue;
    const eq = raw.indexOf('=');
    if (eq < 0) throw new ConfigError(`dynamic config line ${i + 1}: expected key=value, got '${raw}'`);
    const key = raw.slice(0, eq).trim();
    const value = raw.slice(eq + 1).trim();
    if (key.startsWith('server.')) {
      const s = parseServer(key, value, i + 1);
      if (servers.some((o) => o.id === s.id)) throw new ConfigError(`dynamic config: server.${s.id} is defined twice`);
      servers.push(s);
    } else if (key === 'version') {
      if (!/^[0-9a-fA-F]+$/.test(value)) throw new ConfigError(`dynamic config line ${i + 1}: version=${value} is not hexadecimal`);
      version = parseInt(value, 16);
    } else {
      throw new ConfigError(`dynamic config line ${i + 1}: unrecognised parameter ${key}`);
    }
  }
  return { version, servers: servers.sort((a, b) => a.id - b.id) };
}

export function votersOf(servers: readonly ServerEntry[]): number[] {
  return servers.filter((s) => s.role === 'participant').map((s) => s.id);
}

export function observersOf(servers: readonly ServerEntry[]): number[] {
  return servers.filter((s) => s.role === 'observer').map((s) => s.id);
}

export interface ReconfigAsk {
  /** Comma-separated `server.N=spec` (incremental); null: none. */
  joiningServers: string | null;
  /** Comma-separated ids (incremental); null: none. */
  leavingServers: string | null;
  /** The whole new membership, `server.N=spec` separated by commas or newlines: the non-incremental form unless null. */
  newMembers: string | null;
}

function badArguments(message: string): ZkError {
  return new ZkError(ErrorCode.BAD_ARGUMENTS, message);
}

/**
 * A server id that is not a number: ZooKeeper's Long.parseLong throws
 * outside the ConfigException it turns into BadArguments, and the request
 * fails with MarshallingError (checked against 3.8).
 */
function serverId(text: string): number {
  if (!/^\d+$/.test(text)) throw new ZkError(ErrorCode.MARSHALLING_ERROR, `'${text}' is not a server id`);
  return Number(text);
}

/**
 * The servers of the configuration a reconfig asks for, from the last one
 * proposed; BadArguments for anything malformed, as ZooKeeper answers. A
 * non-null newMembers, even "", is the non-incremental form, as in ZooKeeper.
 */
export function nextServers(current: readonly ServerEntry[], ask: ReconfigAsk): ServerEntry[] {
  let servers: ServerEntry[];
  if (ask.newMembers !== null) {
    let parsed: EnsembleConfig;
    try {
      parsed = parseEnsembleConfig(ask.newMembers.replace(/,/g, '\n'));
    } catch (err) {
      if (err instanceof ConfigError) throw badArguments(err.message);
      throw err;
    }
    servers = [...parsed.servers];
  } else {
    const next = new Map(current.map((s) => [s.id, s]));
    for (const leaving of splitList(ask.leavingServers)) next.delete(serverId(leaving));
    for (const joiner of splitList(ask.joiningServers)) {
      const parts = joiner.split('=');
      if (parts.length !== 2) throw badArguments('Wrong format of server string');
      const key = (parts[0] as string).trim();
      const id = serverId(key.slice(key.lastIndexOf('.') + 1));
      let s: ServerEntry;
      try {
        s = parseServer(`server.${id}`, (parts[1] as string).trim(), 1);
      } catch (err) {
        if (err instanceof ConfigError) throw badArguments(err.message);
        throw err;
      }
      if (s.clientPort === undefined) throw badArguments('Wrong format of server string - each server should have at least 3 ports specified');
      for (const other of next.values()) {
        if (other.id === s.id) continue;
        const clash = (other.host === s.host && (other.quorumPort === s.quorumPort || other.electionPort === s.electionPort)) || (other.clientPort === s.clientPort && (other.clientHost ?? '0.0.0.0') === (s.clientHost ?? '0.0.0.0'));
        if (clash) throw badArguments('Reconfiguration failed');
      }
      next.set(s.id, s);
    }
    servers = [...next.values()];
  }
  servers.sort((a, b) => a.id - b.id);
  // ZooKeeper with standaloneEnabled (its default) wants at least two voters.
  if (votersOf(servers).length < 2) throw badArguments('Reconfig failed - new configuration must include at least 2 followers');
  return servers;
}

function splitList(list: string | null): string[] {
  return (list ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}
