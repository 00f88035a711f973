/**
 * A serving member, standalone or in an ensemble: a `Member` (member.ts: the one Ready loop around
 * ZabPeer — persist, send, apply, advance — shared with the simulator) over
 * the real disk, quorum transport and clock (member-adapters.ts), feeding a
 * ZkServer. Committed entries are applied and their replies released; the
 * leader decides writes (speculatively applied, released on commit);
 * followers forward them and answer when the commit arrives.
 *
 * Snapshots: every ~snapCount committed txns a fuzzy snapshot is taken and
 * written once a quorum has committed everything in it; the peer's log is
 * then compacted to the oldest snapshot kept, and older log segments go.
 * SNAP: the peer names its base snapshot, this edge reads the file and
 * attaches it; a follower writes it, drops its log and installs it. Disk
 * work that must not interleave with a Ready (compaction, which lets old
 * snapshot files go) runs inside the Ready loop, between Readies.
 *
 * Observers (`server.N=...:observer`) run the same loop: the peer learns
 * without voting, and the member serves reads and forwards writes like a
 * follower, reporting Mode: observer.
 *
 * Dynamic reconfiguration (ADR 0011): the member starts from the newest
 * configuration it knows (dynamic-config.ts); its peer tells reconfig txns
 * apart (`configOf`) and holds the configuration in force. When that
 * changes the member writes it to its data dir, connects to new members and
 * shows it at /zookeeper/config. The leader decides `reconfig` requests
 * against what its peer knows (EnsembleView).
 *
 * A standalone server is an ensemble of one (`standalone: true`): the same
 * peer, loop and write path (speculative apply, held replies, group commit
 * by the Ready loop), with no transport. Its lone peer elects itself at its
 * first tick; as a quorum of one, an entry on its own disk is committed, so
 * replies are released when the Ready that logged it is durable rather than
 * one Ready later. It reports Mode: standalone, as ZooKeeper does, and reads
 * a standalone data dir as it is (no myid; no epoch files until its first
 * election writes them).
 */
import type { Logger } from 'pino';
import type { MemberConfig } from '../config/zoo-cfg.ts';
import { ConfigError } from '../config/zoo-cfg.ts';
import { openDataDirs } from './data-dirs.ts';
import { TxnLog } from '../storage/txn-log.ts';
import { readEpochFile } from '../storage/epoch-file.ts';
import { readSnapshot } from '../storage/snapshot.ts';
import { decodeTxn, reconfigDataOf } from '../protocol/txn-codec.ts';
import { formatEnsembleConfig, observersOf, parseEnsembleConfig, votersOf, type EnsembleConfig } from '../config/ensemble-config.ts';
import type { QuorumConfig } from '../zab/quorum.ts';
import type { EnsembleView } from '../txn/prep-reconfig.ts';
import { persistEnsembleConfig, persistedEnsembleConfig, staticEnsembleConfig } from './dynamic-config.ts';
import { ReplicatedState } from '../server/replicated-state.ts';
import { ZkServer } from '../server/zk-server.ts';
import type { Connection } from '../server/connection.ts';
import { ClientListener } from '../server/client-listener.ts';
import { firstSessionId } from '../session/session-id.ts';
import { collectServerStats } from '../server/server-stats.ts';
import { formatFourLetter, mntrRows, notServingMntrRows, notWhitelistedMessage, type ServerStats } from '../server/four-letter-format.ts';
import { startMetricsListener, type MetricsListener } from '../server/metrics-listener.ts';
import { formatPrometheus } from '../server/prometheus-format.ts';
import type { Ready } from '../zab/messages.ts';
import { decodeZabMessage } from '../zab/message-codec.ts';
import { hexZxid } from '../zab/zxid.ts';
import { PeerTransport, FrameType, type PeerAddress } from './peer-transport.ts';
import { Member } from './member.ts';
import { FileDisk, TransportLinks, systemClock } from './member-adapters.ts';
import { decodeForward, decodeTouch, encodeForward, encodeTouch } from './forward-codec.ts';
import { decodeSnapshot } from './snapshot-codec.ts';
import { Snapshotter, logBytes } from './snapshotter.ts';

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
/** A standalone server's id inside its ensemble of one (it reads no myid). */
const STANDALONE_ID = 1;
/**
 * The peer ticks faster than tickTime so elections and pings are not
 * quantized to it: initLimit/syncLimit stay what zoo.cfg says in
 * milliseconds, and a vote quorum waits ZooKeeper's 200 ms for a better vote.
 */
const PEER_TICK_MS_MAX = 50;
const FINALIZE_WAIT_MS = 200;

export async function startEnsembleMember(config: MemberConfig, myid: number, log: Logger): Promise<RunningMember> {
  return startMember(config, log, { myid });
}

/** A standalone server: an ensemble of one. */
export async function startStandalone(config: MemberConfig, log: Logger): Promise<RunningMember> {
  return startMember(config, log, { myid: STANDALONE_ID, standalone: true });
}

async function startMember(config: MemberConfig, log: Logger, opts: { myid: number; standalone?: boolean }): Promise<RunningMember> {
  const startedAt = Date.now();
  const standalone = opts.standalone === true;
  const myid = opts.myid;
  const zabLog = standalone ? log.child({ component: 'zab' }) : log.child({ component: 'zab', member: myid });

  const storageLog = log.child({ component: 'storage' });
  const staticConfig = standalone ? null : await staticEnsembleConfig(config);
  // A member removed by a reconfig still knows its own addresses from zoo.cfg, which must list it.
  const staticMe = staticConfig?.servers.find((s) => s.id === myid);
  if (!standalone && !staticMe) throw new ConfigError(`myid ${myid} has no server.${myid} line in the configuration`);
  const { snapDir, logDir, lock, recovered } = await openDataDirs(config, storageLog);
  // A snapshot holds only committed state (standalone: durable), so the member starts from it;
  // the log above it may hold uncommitted entries, applied only once the ensemble commits them.
  const snapshotZxid = recovered.snapshot?.zxid ?? 0;
  const initialState = recovered.snapshot ? decodeSnapshot(recovered.snapshot.bytes, config.tickTime, Date.now()) : ReplicatedState.empty(config.tickTime);
  // The newest configuration this member knows: zoo.cfg's, the one it wrote after a reconfig, its snapshot's.
  let ensembleConfig: EnsembleConfig | null = null;
  if (staticConfig) {
    ensembleConfig = staticConfig;
    const persisted = await persistedEnsembleConfig(config.dataDir).catch((err: unknown) => {
      storageLog.warn({ err, dataDir: config.dataDir }, 'unreadable zoo.cfg.dynamic file; starting from zoo.cfg and the snapshot');
      return null;
    });
    const candidates = [persisted, configInTree(initialState)];
    for (const c of candidates) if (c && c.version > ensembleConfig.version) ensembleConfig = c;
  }
  const me = ensembleConfig ? (ensembleConfig.servers.find((s) => s.id === myid) ?? staticMe) : null;
  const voters = ensembleConfig ? votersOf(ensembleConfig.servers) : [myid];
  const observers = ensembleConfig ? observersOf(ensembleConfig.servers) : [];
  const configText = ensembleConfig ? Buffer.from(formatEnsembleConfig(ensembleConfig)) : null;
  if (standalone) {
    // A quorum of one: everything on its disk is committed (its peer commits it all when it
    // establishes, and that apply then skips it), so it serves the replayed state from the start.
    const now = Date.now();
    for (const entry of recovered.entries) {
      const { header, txn } = decodeTxn(entry.bytes);
      if (header.zxid > initialState.lastZxid) initialState.apply(header, txn, now);
    }
    log.info(
      { zxid: hexZxid(initialState.lastZxid), snapshotZxid: recovered.snapshot ? hexZxid(recovered.snapshot.zxid) : undefined, replayed: recovered.entries.length, ms: Date.now() - startedAt },
      'recovered state',
    );
  }
  const epochDir = snapDir;
  const acceptedEpoch = (await readEpochFile(epochDir, 'acceptedEpoch')) ?? 0;
  const currentEpoch = (await readEpochFile(epochDir, 'currentEpoch')) ?? 0;
  const txnLog = await TxnLog.open(logDir, { fsync: config.forceSync, log: storageLog, lastZxid: recovered.lastZxid });
  const peerTickMs = Math.max(5, Math.min(PEER_TICK_MS_MAX, Math.floor(config.tickTime / 2)));
  const ticks = (ms: number): number => Math.max(1, Math.ceil(ms / peerTickMs));
  let quitting = false;
  // Set once the member exists (the transport hands frames to it); nothing is sent before.
  let transport: PeerTransport | null = null;
  let links: TransportLinks | null = null;
  const member: Member = new Member({
    zab: {
      id: myid,
      members: voters,
      observers,
      initLimit: ticks(config.initLimit * config.tickTime),
      syncLimit: ticks(config.syncLimit * config.tickTime),
      // Nobody else's vote to wait for when alone.
      finalizeWait: standalone ? 0 : ticks(FINALIZE_WAIT_MS),
      configZxid: ensembleConfig?.version ?? 0,
      configData: configText,
      configOf: standalone ? undefined : peerConfigOf,
    },
    persisted: { acceptedEpoch, currentEpoch, snapshotZxid, log: recovered.entries.map((e) => ({ zxid: e.zxid, data: e.bytes })) },
    disk: new FileDisk({ txnLog, snapDir, epochDir, log: storageLog }),
    links: { send: (m) => links?.send(m) },
    clock: systemClock,
    tickMs: peerTickMs,
    log: zabLog,
    replica: {
      apply: (r) => applyCommitted(r),
      afterAdvance: () => noteConfig(),
      prepareRole: async (was) => {
        // Applied ahead of the commit point: rebuild from what is committed.
        if (was === 'leader' || server.state.lastZxid > peer.committed) replaceState(await committedState());
      },
      roleChanged: (role) => {
        // The peer may have moved on during a rebuild: a (rebuilt) leader takes its next zxid now.
        if (role === 'leader') {
          resolveServing?.();
          server.setRole({ role: 'leader', nextZxid: peer.nextZxid });
        } else if (role === 'follower') {
          server.setRole({
            role: 'follower',
            send: (f) => {
              if (!transport?.send(peer.leader, FrameType.forward, encodeForward(f))) zabLog.warn({ leader: peer.leader }, 'forwarded write lost: no link to the leader');
            },
          });
        } else {
          server.setRole({ role: 'looking' });
        }
      },
    },
    onTick: () => {
      server.expireSessions(Date.now());
      const touched = server.takeTouched();
      if (touched.length > 0) transport?.send(peer.leader, FrameType.touch, encodeTouch(touched));
    },
    onFailed: () => void stop(),
  });
  const peer = member.peer;
  if (!standalone) {
    zabLog.info({ acceptedEpoch, currentEpoch, snapshotZxid: hexZxid(snapshotZxid), lastZxid: hexZxid(peer.lastZxid), voters, observers }, peer.isObserver ? 'observing; looking for the leader' : 'starting election');
  }
  let resolveServing: (() => void) | null = null;
  const serving = new Promise<void>((resolve) => (resolveServing = resolve));

  const server = new ZkServer({
    config,
    state: initialState,
    sink: {
      propose: (e) => {
        const zxid = member.propose(e.bytes);
        if (zxid !== e.zxid) {
          // This member lost leadership between deciding and proposing: its
          // speculative state is rebuilt from the commit point on the role change.
          zabLog.warn({ expected: hexZxid(e.zxid), got: zxid === null ? null : hexZxid(zxid) }, 'proposal refused; no longer leading');
        }
      },
    },
    log: standalone ? log.child({ component: 'server' }) : log.child({ component: 'server', member: myid }),
    now: Date.now,
    firstSessionId: firstSessionId(standalone ? 0 : myid, Date.now()),
    sessionSecret: SESSION_SECRET,
    ...(standalone ? {} : { ensemble: ensembleView() }),
  });
  if (!standalone) showConfig(server.state, peer.config);
  server.setRole({ role: 'looking' });

  if (me) {
  const others = new Map<number, PeerAddress>();
  for (const s of ensembleConfig?.servers ?? []) if (s.id !== myid) others.set(s.id, { host: s.host, port: s.quorumPort });
  transport = new PeerTransport({
    id: myid,
    listen: { host: me.host, port: me.quorumPort },
    peers: others,
    log: zabLog,
    onFrame: (from, type, body) => {
      try {
        if (type === FrameType.zab) member.receive(decodeZabMessage(body));
        else if (type === FrameType.forward) server.submitForwarded(decodeForward(body));
        else if (type === FrameType.touch) {
          if (server.role !== 'leader') zabLog.warn({ from }, 'session touches reached a member that does not lead');
          const now = Date.now();
          for (const id of decodeTouch(body)) server.state.sessions.touch(id, now);
        }
      } catch (err) {
        zabLog.warn({ from, err }, 'bad frame from a member');
      }
      member.pump();
    },
    onDisconnected: (p) => member.disconnected(p),
    onNewPeer: (id, address) => zabLog.info({ peer: id, address: `${address.host}:${address.port}` }, 'a member not in this configuration connected (a server about to join?)'),
  });
  links = new TransportLinks(transport);
  await transport.start();
  }

  // ---- snapshots, written once everything in them is committed
  const committedWaiters: { zxid: number; state: ReplicatedState; resolve: (ok: boolean) => void }[] = [];
  function settleWaiters(): void {
    for (let i = committedWaiters.length - 1; i >= 0; i--) {
      const w = committedWaiters[i] as (typeof committedWaiters)[number];
      const replaced = quitting || server.state !== w.state;
      if (!replaced && peer.committed < w.zxid) continue;
      committedWaiters.splice(i, 1);
      w.resolve(!replaced);
    }
  }
  const snapshotter = new Snapshotter({
    snapDir,
    txnLog,
    snapCount: config.snapCount,
    snapSizeLimitBytes: config.snapSizeLimitInKb * 1024,
    retainCount: config.snapRetainCount,
    // No `since`: the log above the snapshot is applied again as the ensemble commits it, and counted then.
    log: storageLog,
    state: () => server.state,
    settle: (state, zxidMax) =>
      new Promise<boolean>((resolve) => {
        committedWaiters.push({ zxid: zxidMax, state, resolve });
        settleWaiters();
      }),
    // Inside the Ready loop: no Ready naming the old base is between ready() and send.
    // A member stopping runs no more Readies: it keeps its older files rather than fail the snapshot.
    beforeRetain: async (oldestKept) => {
      if (quitting) return false;
      try {
        await member.inReadyLoop(() => {
          if (oldestKept > peer.snapshotZxid) member.compact(oldestKept);
        });
        return true;
      } catch (err) {
        if (quitting) return false;
        throw err;
      }
    },
  });

  function replaceState(state: ReplicatedState): void {
    if (!standalone) showConfig(state, peer.config);
    server.resetState(state);
    settleWaiters();
  }

  /**
   * /zookeeper/config shows the configuration in force. A reconfig txn sets
   * it when applied; a configuration that never was a txn here (zoo.cfg's,
   * or one a learner adopted from its leader at sync) is set by the member
   * itself, as ZooKeeper's initConfigInZKDatabase does, unless the state
   * already shows a newer one.
   */
  function showConfig(state: ReplicatedState, c: QuorumConfig): void {
    const node = state.tree.get('/zookeeper/config');
    if (!c.data || (node && node.data !== null && node.mzxid >= c.zxid)) return;
    state.tree.setConfigNode(c.data, c.zxid, Date.now());
  }

  /** This member's client address as its configuration gives it, and how to move there (set once the listener is up). */
  let myClientSpec = me?.clientPort !== undefined ? `${me.clientHost ?? '0.0.0.0'}:${me.clientPort}` : '';
  let moveClientAddress: (host: string, port: number) => Promise<void> = async () => {};
  /** The peer's configuration changed (a reconfig committed, or adopted from the leader): make it durable and reach its members. */
  let shownConfig: QuorumConfig = peer.config;
  function noteConfig(): void {
    const c = peer.config;
    if (c === shownConfig || standalone) return;
    const same = c.zxid === shownConfig.zxid && c.data !== null && shownConfig.data !== null && c.data.equals(shownConfig.data);
    shownConfig = c;
    if (same || !c.data) return;
    let parsed: EnsembleConfig;
    try {
      parsed = parseEnsembleConfig(c.data.toString());
    } catch (err) {
      zabLog.error({ err, zxid: hexZxid(c.zxid) }, 'unreadable configuration; keeping the previous one on disk');
      return;
    }
    // zoo.cfg's own configuration (version 0) is never written: zoo.cfg keeps it.
    if (c.zxid > 0) persistEnsembleConfig(config.dataDir, c.data.toString(), c.zxid);
    for (const s of parsed.servers) transport?.setPeer(s.id, { host: s.host, port: s.quorumPort });
    // Only a change to this member's own line moves its listener (zoo.cfg's clientPortAddress stays otherwise).
    const mine = parsed.servers.find((s) => s.id === myid);
    const spec = mine?.clientPort !== undefined ? `${mine.clientHost ?? '0.0.0.0'}:${mine.clientPort}` : myClientSpec;
    if (mine?.clientPort !== undefined && spec !== myClientSpec) void moveClientAddress(mine.clientHost ?? '0.0.0.0', mine.clientPort);
    myClientSpec = spec;
    showConfig(server.state, c);
    zabLog.info({ version: hexZxid(c.zxid), voters: c.voters, observers: c.observers, member: myid }, c.voters.includes(myid) ? 'configuration in force' : 'configuration in force; this member does not vote in it');
  }

  function ensembleView(): EnsembleView {
    return {
      lastSeen: () => {
        const c = peer.pendingConfig ?? peer.config;
        return c.data ? parseEnsembleConfig(c.data.toString()) : { version: c.zxid, servers: [] };
      },
      inProgress: () => peer.pendingConfig !== null,
      isQuorumSynced: (v) => peer.isQuorumSynced(v),
    };
  }

  /** The committed state: the log's base snapshot, then the committed entries above it. */
  async function committedState(): Promise<ReplicatedState> {
    // Taken before the first await: frames keep stepping the peer meanwhile.
    const base = peer.snapshotZxid;
    const entries = peer.committedEntries();
    const now = Date.now();
    let state = ReplicatedState.empty(config.tickTime);
    if (base > 0) {
      const snap = await readSnapshot(snapDir, base);
      if (!snap) throw new Error(`the log's base snapshot ${hexZxid(base)} is missing from ${snapDir}`);
      state = decodeSnapshot(snap.bytes, config.tickTime, now);
    }
    for (const e of entries) {
      const { header, txn } = decodeTxn(e.data);
      if (header.zxid > state.lastZxid) state.apply(header, txn, now);
    }
    return state;
  }

  function applyCommitted(r: Ready): void {
    if (r.persist.snapshot !== null) replaceState(decodeSnapshot(r.persist.snapshot.data, config.tickTime, Date.now()));
    // A leader's own writes are applied already (speculatively): skip them without decoding.
    for (const e of r.committed) if (e.zxid > server.state.lastZxid) server.applyCommitted(e.data);
    const last = r.committed[r.committed.length - 1];
    if (last) server.onDurable(last.zxid);
    // Alone, durable is committed: release now, not when the peer says so in the next Ready.
    const logged = r.persist.entries[r.persist.entries.length - 1];
    if (standalone && logged && member.role === 'leader') server.onDurable(logged.zxid);
    settleWaiters();
    snapshotter.note(r.committed.length, r.committed.reduce((n, e) => n + logBytes(e.data), 0));
  }

  function statsNow(): ServerStats {
    if (standalone) return collectServerStats(server, { mode: 'standalone', startedAt, config, serverId: 0 });
    // A member in no configuration follows without voting, and says so as ZooKeeper's does: follower.
    const mode = server.role === 'leader' ? 'leader' : server.role === 'follower' ? (peer.config.observers.includes(myid) ? 'observer' : 'follower') : 'read-only';
    return collectServerStats(server, {
      mode,
      startedAt,
      config,
      serverId: myid,
      ...(server.role === 'leader' ? { learners: peer.learnerStats } : {}),
      ...(me && peer.config.data ? { quorum: { electionPort: me.electionPort, quorumPort: me.quorumPort, observer: peer.config.observers.includes(myid), membership: peer.config.data.toString() } } : {}),
    });
  }

  let resolveStopped!: () => void;
  const stopped = new Promise<void>((r) => (resolveStopped = r));
  let stopping: Promise<void> | null = null;
  let metricsListener: MetricsListener | null = null;
  function stop(): Promise<void> {
    if (stopping) return stopping;
    stopping = (async () => {
      quitting = true;
      settleWaiters();
      stopReaping();
      if (standalone) {
        // No new writes, then what was proposed goes to disk (nothing else would ever commit it).
        await listener?.close();
        listener = null;
        await drain();
      }
      // Nothing may touch the log once it is closed: let the Ready in hand finish first.
      await member.stop();
      await snapshotter.idle();
      await metricsListener?.close();
      await listener?.close();
      await transport?.close();
      server.stop();
      await txnLog.close();
      await lock.release();
      if (standalone) log.info('server stopped');
      else log.info({ member: myid }, 'member stopped');
      resolveStopped();
    })();
    return stopping;
  }

  /** Runs the Ready loop until the peer has nothing left (a failed member stops at once). */
  async function drain(): Promise<void> {
    for (let i = 0; i < 1000; i++) {
      await member.idle();
      if (!peer.hasReady()) return;
      member.pump();
    }
  }
  let listener: ClientListener | null = null;
  let stopReaping: () => void = () => {};

  if (standalone) {
    member.start();
    // Serve only once elected (at its first tick): a client never meets it looking.
    await Promise.race([serving, stopped]);
    if (stopping) {
      await stopping;
      throw new Error('the server stopped before it could serve');
    }
  }

  const clientListener = (host: string, port: number): ClientListener => new ClientListener(server, {
    host,
    port,
    maxClientCnxns: config.maxClientCnxns,
    maxFrameBytes: config.maxBuffer,
    log: standalone ? log.child({ component: 'listener' }) : log.child({ component: 'listener', member: myid }),
    fourLetter: (cmd) => {
      if (config.fourLetterWhitelist !== '*' && !config.fourLetterWhitelist.has(cmd)) return notWhitelistedMessage(cmd);
      if (standalone && cmd === 'crst') {
        resetConnectionStats(server.connections);
        return 'Connection stats reset.\n';
      }
      if (standalone && cmd === 'srst') {
        resetServerStats(server);
        return 'Server stats reset.\n';
      }
      if (cmd === 'isro') return server.role === 'looking' ? 'null' : 'rw';
      if (server.role === 'looking' && cmd !== 'ruok') return 'This ZooKeeper instance is not currently serving requests\n';
      return formatFourLetter(cmd, statsNow());
    },
  });
  listener = clientListener(me?.clientHost ?? config.clientPortAddress, me?.clientPort ?? config.clientPort);
  const addr = await listener.listen();
  let clientAddress = { host: me?.clientHost ?? config.clientPortAddress, port: me?.clientPort ?? config.clientPort };
  /**
   * A committed configuration gave this member another client address: listen there, then close
   * the old listener (its clients reconnect), as ZooKeeper's cnxnFactory.reconfigure does.
   */
  moveClientAddress = async (host, port) => {
    if (!listener || quitting || (host === clientAddress.host && port === clientAddress.port)) return;
    const next = clientListener(host, port);
    try {
      await next.listen();
    } catch (err) {
      log.error({ err, member: myid, host, port }, 'cannot listen on the client address the configuration gives; keeping the old one');
      return;
    }
    const old = listener;
    listener = next;
    clientAddress = { host, port };
    await old.close();
    log.info({ member: myid, host, port }, 'client address moved by a reconfiguration');
  };
  if (!standalone) member.start();

  stopReaping = systemClock.every(config.containerCheckIntervalMs, () => server.reapNodes(Date.now()));

  try {
    // While electing there is no mntr; the endpoint still answers, with the state.
    const render = () => formatPrometheus(server.role === 'looking' ? notServingMntrRows() : mntrRows(statsNow()));
    metricsListener = await startMetricsListener(config.metricsProvider, render, standalone ? log.child({ component: 'metrics' }) : log.child({ component: 'metrics', member: myid }));
  } catch (err) {
    await stop();
    throw err;
  }

  if (me) log.info({ member: myid, host: addr.host, port: addr.port, quorumPort: me.quorumPort }, 'ensemble member up; serving once a leader is established');
  else log.info({ host: addr.host, port: addr.port, dataDir: config.dataDir }, 'serving clients');
  return { host: addr.host, port: addr.port, config, server, metrics: metricsListener?.address ?? null, stopped, stop };
}

function resetConnectionStats(connections: Iterable<Connection>): void {
  for (const c of connections) {
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

/** The configuration a snapshot's /zookeeper/config holds, or null (none, or zoo.cfg's that never was a txn). */
function configInTree(state: ReplicatedState): EnsembleConfig | null {
  const data = state.tree.get('/zookeeper/config')?.data;
  if (!data || data.length === 0) return null;
  try {
    return parseEnsembleConfig(data.toString());
  } catch {
    return null;
  }
}

/** The peer's `configOf`: a reconfig txn's new membership and text. */
function peerConfigOf(data: Buffer): { voters: number[]; observers: number[]; data: Buffer } | null {
  const text = reconfigDataOf(data);
  if (!text) return null;
  const c = parseEnsembleConfig(text.toString());
  return { voters: votersOf(c.servers), observers: observersOf(c.servers), data: text };
}
