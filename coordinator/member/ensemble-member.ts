/**
 * An ensemble member: a `Member` (member.ts: the one Ready loop around
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
 */
import type { Logger } from 'pino';
import type { MemberConfig } from '../config/zoo-cfg.ts';
import { ConfigError } from '../config/zoo-cfg.ts';
import { openDataDirs } from './data-dirs.ts';
import { TxnLog } from '../storage/txn-log.ts';
import { readEpochFile } from '../storage/epoch-file.ts';
import { readSnapshot } from '../storage/snapshot.ts';
import { decodeTxn } from '../protocol/txn-codec.ts';
import { ReplicatedState } from '../server/replicated-state.ts';
import { ZkServer } from '../server/zk-server.ts';
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
import type { RunningMember } from './standalone-member.ts';
import { decodeSnapshot } from './snapshot-codec.ts';
import { Snapshotter, logBytes } from './snapshotter.ts';

const SESSION_SECRET = Buffer.from('drover-session-password-v1');
/**
 * The peer ticks faster than tickTime so elections and pings are not
 * quantized to it: initLimit/syncLimit stay what zoo.cfg says in
 * milliseconds, and a vote quorum waits ZooKeeper's 200 ms for a better vote.
 */
const PEER_TICK_MS_MAX = 50;
const FINALIZE_WAIT_MS = 200;

export async function startEnsembleMember(config: MemberConfig, myid: number, log: Logger): Promise<RunningMember> {
  const startedAt = Date.now();
  const me = config.servers.find((s) => s.id === myid);
  if (!me) throw new ConfigError(`myid ${myid} has no server.${myid} line in the configuration`);
  const voters = config.servers.filter((s) => s.role === 'participant').map((s) => s.id);
  const observers = config.servers.filter((s) => s.role === 'observer').map((s) => s.id);
  const zabLog = log.child({ component: 'zab', member: myid });

  const storageLog = log.child({ component: 'storage' });
  const { snapDir, logDir, lock, recovered } = await openDataDirs(config, storageLog);
  // A snapshot holds only committed state (standalone: durable), so the member starts from it;
  // the log above it may hold uncommitted entries, applied only once the ensemble commits them.
  const snapshotZxid = recovered.snapshot?.zxid ?? 0;
  const initialState = recovered.snapshot ? decodeSnapshot(recovered.snapshot.bytes, config.tickTime, Date.now()) : ReplicatedState.empty(config.tickTime);
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
      finalizeWait: ticks(FINALIZE_WAIT_MS),
    },
    persisted: { acceptedEpoch, currentEpoch, snapshotZxid, log: recovered.entries.map((e) => ({ zxid: e.zxid, data: e.bytes })) },
    disk: new FileDisk({ txnLog, snapDir, epochDir, log: storageLog }),
    links: { send: (m) => links?.send(m) },
    clock: systemClock,
    tickMs: peerTickMs,
    log: zabLog,
    replica: {
      apply: (r) => applyCommitted(r),
      prepareRole: async (was) => {
        // Applied ahead of the commit point: rebuild from what is committed.
        if (was === 'leader' || server.state.lastZxid > peer.committed) replaceState(await committedState());
      },
      roleChanged: (role) => {
        // The peer may have moved on during a rebuild: a (rebuilt) leader takes its next zxid now.
        if (role === 'leader') {
          server.forward = null;
          server.setRole('leader', { nextZxid: peer.nextZxid });
        } else if (role === 'follower') {
          server.forward = (f) => {
            if (!transport?.send(peer.leader, FrameType.forward, encodeForward(f))) zabLog.warn({ leader: peer.leader }, 'forwarded write lost: no link to the leader');
          };
          server.setRole('follower');
        } else {
          server.forward = null;
          server.setRole('looking');
        }
      },
    },
    onTick: () => {
      server.expireSessions(Date.now());
      if (server.role === 'follower' && server.touched.size > 0) {
        transport?.send(peer.leader, FrameType.touch, encodeTouch(server.touched));
        server.touched.clear();
      }
    },
    onFailed: () => void stop(),
  });
  const peer = member.peer;
  zabLog.info({ acceptedEpoch, currentEpoch, snapshotZxid: hexZxid(snapshotZxid), lastZxid: hexZxid(peer.lastZxid), voters, observers }, peer.isObserver ? 'observing; looking for the leader' : 'starting election');

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
    log: log.child({ component: 'server', member: myid }),
    now: Date.now,
    firstSessionId: firstSessionId(myid, Date.now()),
    sessionSecret: SESSION_SECRET,
  });
  server.setRole('looking');

  const others = new Map<number, PeerAddress>();
  for (const s of config.servers) if (s.id !== myid) others.set(s.id, { host: s.host, port: s.quorumPort });
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
  });
  links = new TransportLinks(transport);
  await transport.start();

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
    server.resetState(state);
    settleWaiters();
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
    for (const e of r.committed) server.applyCommitted(e.data);
    const last = r.committed[r.committed.length - 1];
    if (last) server.onDurable(last.zxid);
    settleWaiters();
    snapshotter.note(r.committed.length, r.committed.reduce((n, e) => n + logBytes(e.data), 0));
  }

  function statsNow(): ServerStats {
    const mode = server.role === 'leader' ? 'leader' : server.role === 'follower' ? (peer.isObserver ? 'observer' : 'follower') : 'read-only';
    return collectServerStats(server, {
      mode,
      startedAt,
      config,
      serverId: myid,
      ...(server.role === 'leader' ? { learners: peer.learnerStats } : {}),
    });
  }

  const listener = new ClientListener(server, {
    host: me.clientHost ?? config.clientPortAddress,
    port: me.clientPort ?? config.clientPort,
    maxClientCnxns: config.maxClientCnxns,
    maxFrameBytes: config.maxBuffer,
    log: log.child({ component: 'listener', member: myid }),
    fourLetter: (cmd) => {
      if (config.fourLetterWhitelist !== '*' && !config.fourLetterWhitelist.has(cmd)) return notWhitelistedMessage(cmd);
      if (cmd === 'isro') return server.role === 'looking' ? 'null' : 'rw';
      if (server.role === 'looking' && cmd !== 'ruok') return 'This ZooKeeper instance is not currently serving requests\n';
      return formatFourLetter(cmd, statsNow());
    },
  });
  const addr = await listener.listen();

  member.start();
  const stopReaping = systemClock.every(config.containerCheckIntervalMs, () => server.reapNodes(Date.now()));

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
      // Nothing may touch the log once it is closed: let the Ready in hand finish first.
      await member.stop();
      await snapshotter.idle();
      await metricsListener?.close();
      await listener.close();
      await transport?.close();
      server.stop();
      await txnLog.close();
      await lock.release();
      log.info({ member: myid }, 'member stopped');
      resolveStopped();
    })();
    return stopping;
  }

  try {
    // While electing there is no mntr; the endpoint still answers, with the state.
    const render = () => formatPrometheus(server.role === 'looking' ? notServingMntrRows() : mntrRows(statsNow()));
    metricsListener = await startMetricsListener(config.metricsProvider, render, log.child({ component: 'metrics', member: myid }));
  } catch (err) {
    await stop();
    throw err;
  }

  log.info({ member: myid, host: addr.host, port: addr.port, quorumPort: me.quorumPort }, 'ensemble member up; serving once a leader is established');
  return { host: addr.host, port: addr.port, config, server, metrics: metricsListener?.address ?? null, stopped, stop };
}
