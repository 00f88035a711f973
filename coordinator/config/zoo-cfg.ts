/**
 * zoo.cfg, read the way ZooKeeper reads it. Keys ZooKeeper would turn into
 * `zookeeper.*` system properties (superDigest, extendedTypesEnabled, ...)
 * are honoured with or without the prefix; unknown keys are collected for
 * the caller to log, never fatal.
 */
import { limits } from '../base/limits.ts';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'BAD_CONFIG';
}

export interface ServerEntry {
  id: number;
  host: string;
  quorumPort: number;
  electionPort: number;
  role: 'participant' | 'observer';
  clientHost?: string;
  clientPort?: number;
}

/** ZooKeeper 3.6+'s metrics providers: the Prometheus one serves `/metrics` over HTTP; the default one serves nothing. */
export const PROMETHEUS_METRICS_PROVIDER = 'org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider';
export const DEFAULT_METRICS_PROVIDER = 'org.apache.zookeeper.metrics.impl.DefaultMetricsProvider';

/** Where the Prometheus endpoint listens (`metricsProvider.httpHost` / `metricsProvider.httpPort`). */
export interface MetricsProviderConfig {
  httpHost: string;
  /** 0: any free port (Drover's addition, for tests). */
  httpPort: number;
}

export interface MemberConfig {
  tickTime: number;
  initLimit: number;
  syncLimit: number;
  dataDir: string;
  dataLogDir: string;
  clientPort: number;
  clientPortAddress: string;
  maxClientCnxns: number;
  minSessionTimeout: number;
  maxSessionTimeout: number;
  fourLetterWhitelist: '*' | ReadonlySet<string>;
  snapCount: number;
  /**
   * Snapshot also once the log written since the last snapshot passes about
   * this many KiB (ZooKeeper's `snapSizeLimitInKb`); 0 or less: by count only.
   */
  snapSizeLimitInKb: number;
  /** Snapshots kept (`autopurge.snapRetainCount`, at least 3); the log older than the oldest kept is deleted. */
  snapRetainCount: number;
  servers: readonly ServerEntry[];
  superDigest?: string;
  extendedTypesEnabled: boolean;
  maxBuffer: number;
  containerCheckIntervalMs: number;
  forceSync: boolean;
  /** Null unless `metricsProvider.className` names the Prometheus provider. */
  metricsProvider: MetricsProviderConfig | null;
  /** `reconfigEnabled` (false by default, as ZooKeeper's): `reconfig` answers ReconfigDisabled unless set (ADR 0011). */
  reconfigEnabled: boolean;
  /**
   * `dynamicConfigFile`: a file of `server.N=` lines (and `version=<hex>`)
   * read when the member starts, instead of or beside zoo.cfg's own lines.
   */
  dynamicConfigFile?: string;
  unknownKeys: readonly string[];
}

const DEFAULT_TICK = 3000;

/**
 * ZooKeeper's default is 4 GB, a disk-space backstop. Drover's is smaller
 * because it bounds recovery: a restart replays at most about this much log
 * beyond LOG_PER_SNAPSHOT snapshots' worth (5–12 ms per MB per member,
 * measured: 64 MiB is 0.3–0.8 s; `drover dev` replays its three members on
 * one thread), and with large znodes (the demo logs ~4.5 KB per txn, ~80
 * KB/s per member) snapCount alone lets an hour of log pile up. A smaller
 * default snapshots a small tree too often: at 16 MiB every member
 * snapshotted once per 10,000-run drain of the jobs bench, ~20% of the
 * members' CPU per run (117 against 92 µs with the size trigger off).
 */
export const DEFAULT_SNAP_SIZE_LIMIT_KB = 64 * 1024;
/**
 * `drover dev`'s: its three members share one process and one thread, keep
 * their state in the user's project (./.drover), and hold trees of a few MB,
 * so a restart and the directory's size matter more than the CPU a snapshot
 * takes. After 50,000 demo txns its data dir was 463 MB and growing with
 * the 64 MiB default, 109 MB at 16 MiB, where it levels off; restarts 865
 * against 535 ms (bench/restart.bench.ts).
 */
export const DEV_SNAP_SIZE_LIMIT_KB = 16 * 1024;
/** As ZooKeeper's `autopurge.snapRetainCount`: default and minimum 3. */
export const MIN_SNAP_RETAIN_COUNT = 3;

export function defaultConfig(overrides: Partial<MemberConfig> = {}): MemberConfig {
  const tickTime = overrides.tickTime ?? DEFAULT_TICK;
  const dataDir = overrides.dataDir ?? '';
  const config: MemberConfig = {
    tickTime,
    initLimit: 10,
    syncLimit: 5,
    dataDir,
    dataLogDir: overrides.dataLogDir ?? dataDir,
    clientPort: 2181,
    clientPortAddress: '0.0.0.0',
    maxClientCnxns: 60,
    minSessionTimeout: 2 * tickTime,
    maxSessionTimeout: 20 * tickTime,
    fourLetterWhitelist: new Set(['srvr']),
    snapCount: 100_000,
    snapSizeLimitInKb: DEFAULT_SNAP_SIZE_LIMIT_KB,
    snapRetainCount: MIN_SNAP_RETAIN_COUNT,
    servers: [],
    extendedTypesEnabled: false,
    maxBuffer: limits.frameBytesMax,
    containerCheckIntervalMs: 60_000,
    forceSync: true,
    metricsProvider: null,
    reconfigEnabled: false,
    unknownKeys: [],
    ...overrides,
  };
  return Object.freeze(config);
}

function int(key: string, value: string, line: number, min = 0): number {
  if (!/^-?\d+$/.test(value)) throw new ConfigError(`zoo.cfg line ${line}: ${key}=${value} is not an integer`);
  const n = Number(value);
  if (n < min) throw new ConfigError(`zoo.cfg line ${line}: ${key}=${value} must be at least ${min}`);
  return n;
}

function port(key: string, value: string, line: number): number {
  const n = int(key, value, line, 0);
  if (n > 65535) throw new ConfigError(`zoo.cfg line ${line}: ${key}=${value} is not a port`);
  return n;
}

interface MetricsKeys {
  className?: { value: string; line: number };
  httpHost?: string;
  httpPort?: number;
}

/**
 * As ZooKeeper: no className (or the default provider) serves no endpoint,
 * and its http keys do nothing (so they are reported as ignored). A class
 * Drover does not have is an error, as ZooKeeper fails to start on a class
 * it cannot load: a member the operator believes monitored must not start blind.
 */
function metricsProvider(keys: MetricsKeys, unknownKeys: string[]): MetricsProviderConfig | null {
  const className = keys.className?.value ?? DEFAULT_METRICS_PROVIDER;
  if (className === PROMETHEUS_METRICS_PROVIDER) {
    return { httpHost: keys.httpHost || '0.0.0.0', httpPort: keys.httpPort ?? 7000 };
  }
  if (className !== DEFAULT_METRICS_PROVIDER) {
    throw new ConfigError(`zoo.cfg line ${keys.className?.line}: metricsProvider.className=${className} is not a provider Drover has (${PROMETHEUS_METRICS_PROVIDER} or ${DEFAULT_METRICS_PROVIDER})`);
  }
  if (keys.httpHost !== undefined) unknownKeys.push('metricsProvider.httpHost');
  if (keys.httpPort !== undefined) unknownKeys.push('metricsProvider.httpPort');
  return null;
}

function bool(value: string): boolean {
  return /^(true|yes)$/i.test(value);
}

/** server.N=host:quorumPort:electionPort[:participant|observer][;[clientHost:]clientPort] */
export function parseServer(key: string, value: string, line: number): ServerEntry {
  const id = int(key, key.slice('server.'.length), line, 0);
  const [addrPart, clientPart] = value.split(';');
  const parts = (addrPart ?? '').split(':');
  if (parts.length < 3 || parts.length > 4) {
    throw new ConfigError(`zoo.cfg line ${line}: ${key}=${value} must be host:quorumPort:electionPort[:participant|observer]`);
  }
  const [host, quorum, election, role] = parts as [string, string, string, string | undefined];
  if (role !== undefined && role !== 'participant' && role !== 'observer') {
    throw new ConfigError(`zoo.cfg line ${line}: ${key} role must be participant or observer, not '${role}'`);
  }
  const entry: ServerEntry = {
    id,
    host,
    quorumPort: int(key, quorum, line, 1),
    electionPort: int(key, election, line, 1),
    role: role ?? 'participant',
  };
  if (clientPart !== undefined && clientPart.trim() !== '') {
    const c = clientPart.trim().split(':');
    if (c.length === 2) {
      entry.clientHost = c[0] as string;
      entry.clientPort = int(key, c[1] as string, line, 1);
    } else {
      entry.clientPort = int(key, c[0] as string, line, 1);
    }
  }
  return entry;
}

export function parseZooCfg(text: string): MemberConfig {
  const o: Partial<MemberConfig> & { servers: ServerEntry[]; unknownKeys: string[] } = { servers: [], unknownKeys: [] };
  let minSet = false;
  let maxSet = false;
  const metrics: MetricsKeys = {};
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = (lines[i] as string).trim();
    if (raw === '' || raw.startsWith('#')) continue;
    const eq = raw.indexOf('=');
    if (eq < 0) throw new ConfigError(`zoo.cfg line ${i + 1}: expected key=value, got '${raw}'`);
    const key = raw.slice(0, eq).trim();
    const value = raw.slice(eq + 1).trim();
    const line = i + 1;
    const bare = key.startsWith('zookeeper.') ? key.slice('zookeeper.'.length) : key;
    if (key.startsWith('server.')) {
      o.servers.push(parseServer(key, value, line));
      continue;
    }
    switch (bare) {
      case 'tickTime':
        o.tickTime = int(key, value, line, 1);
        break;
      case 'initLimit':
        o.initLimit = int(key, value, line, 1);
        break;
      case 'syncLimit':
        o.syncLimit = int(key, value, line, 1);
        break;
      case 'dataDir':
        o.dataDir = value;
        break;
      case 'dataLogDir':
        o.dataLogDir = value;
        break;
      case 'clientPort':
        o.clientPort = int(key, value, line, 0);
        break;
      case 'clientPortAddress':
        o.clientPortAddress = value;
        break;
      case 'maxClientCnxns':
        o.maxClientCnxns = int(key, value, line, 0);
        break;
      case 'minSessionTimeout':
        o.minSessionTimeout = int(key, value, line, 0);
        minSet = true;
        break;
      case 'maxSessionTimeout':
        o.maxSessionTimeout = int(key, value, line, 0);
        maxSet = true;
        break;
      case '4lw.commands.whitelist':
        o.fourLetterWhitelist = value === '*' ? '*' : new Set(value.split(',').map((s) => s.trim()).filter(Boolean));
        break;
      case 'snapCount':
        o.snapCount = int(key, value, line, 2);
        break;
      case 'snapSizeLimitInKb':
        // As ZooKeeper: any long; a limit of 0 or less turns the size trigger off.
        if (!/^-?\d+$/.test(value)) throw new ConfigError(`zoo.cfg line ${line}: ${key}=${value} is not an integer`);
        o.snapSizeLimitInKb = Math.max(0, Number(value));
        break;
      case 'autopurge.snapRetainCount':
        // ZooKeeper raises a smaller count to 3 (with a warning) rather than refusing the file.
        o.snapRetainCount = Math.max(MIN_SNAP_RETAIN_COUNT, int(key, value, line, 0));
        break;
      case 'DigestAuthenticationProvider.superDigest':
        o.superDigest = value;
        break;
      case 'extendedTypesEnabled':
        o.extendedTypesEnabled = bool(value);
        break;
      case 'jute.maxbuffer':
        o.maxBuffer = int(key, value, line, 1);
        break;
      case 'znode.container.checkIntervalMs':
        o.containerCheckIntervalMs = int(key, value, line, 1);
        break;
      case 'forceSync':
        o.forceSync = !/^no$/i.test(value);
        break;
      case 'reconfigEnabled':
        o.reconfigEnabled = bool(value);
        break;
      case 'dynamicConfigFile':
        o.dynamicConfigFile = value;
        break;
      case 'metricsProvider.className':
        metrics.className = { value, line };
        break;
      case 'metricsProvider.httpHost':
        metrics.httpHost = value;
        break;
      case 'metricsProvider.httpPort':
        metrics.httpPort = port(key, value, line);
        break;
      default:
        o.unknownKeys.push(key);
    }
  }
  if (!o.dataDir) throw new ConfigError('zoo.cfg: dataDir is required');
  o.metricsProvider = metricsProvider(metrics, o.unknownKeys);
  const tick = o.tickTime ?? DEFAULT_TICK;
  if (!minSet) o.minSessionTimeout = 2 * tick;
  if (!maxSet) o.maxSessionTimeout = 20 * tick;
  if ((o.minSessionTimeout as number) > (o.maxSessionTimeout as number)) {
    throw new ConfigError('zoo.cfg: minSessionTimeout must not be larger than maxSessionTimeout');
  }
  const ids = new Set<number>();
  for (const s of o.servers) {
    if (ids.has(s.id)) throw new ConfigError(`zoo.cfg: server.${s.id} is defined twice`);
    ids.add(s.id);
  }
  return defaultConfig({ ...o, dataLogDir: o.dataLogDir ?? o.dataDir });
}
