/**
 * ZAB's messages between members. Links are FIFO (TCP); a broken link is
 * reported to both ends as `disconnected`, after which a follower re-syncs.
 */
import type { QuorumConfig } from './quorum.ts';

export interface Entry {
  zxid: number;
  data: Buffer;
}

export type PeerState = 'looking' | 'following' | 'leading';

export interface Vote {
  leader: number;
  zxid: number;
  /** The proposed leader's currentEpoch (peerEpoch). */
  epoch: number;
}

export type ZabMessage =
  /** `config`: the sender's committed configuration, when configurations can change (ADR 0011). */
  | { kind: 'vote'; from: number; to: number; round: number; vote: Vote; state: PeerState; config?: QuorumConfig }
  | { kind: 'followerInfo'; from: number; to: number; acceptedEpoch: number; lastZxid: number }
  | { kind: 'leaderInfo'; from: number; to: number; epoch: number }
  | { kind: 'ackEpoch'; from: number; to: number; epoch: number; currentEpoch: number; lastZxid: number }
  /**
   * Synchronization then NEWLEADER, in one message: DIFF (`entries`), after
   * an optional TRUNC, or SNAP (`snapshot`, then `entries` above it).
   */
  | {
      kind: 'sync';
      from: number;
      to: number;
      epoch: number;
      truncateTo: number | null;
      snapshot: SnapshotRef | null;
      entries: Entry[];
      commitZxid: number;
      /** The leader's committed configuration, which the learner adopts (dynamic reconfiguration, ADR 0011). */
      config?: QuorumConfig;
    }
  | { kind: 'ackNewLeader'; from: number; to: number; epoch: number }
  | { kind: 'upToDate'; from: number; to: number; epoch: number; commitZxid: number }
  | { kind: 'proposal'; from: number; to: number; epoch: number; entry: Entry }
  | { kind: 'ack'; from: number; to: number; epoch: number; zxid: number }
  | { kind: 'commit'; from: number; to: number; epoch: number; zxid: number }
  | { kind: 'ping'; from: number; to: number; epoch: number; commitZxid: number }
  | { kind: 'pong'; from: number; to: number; epoch: number }
  /** From the transport, not the wire: the link to `from` broke. */
  | { kind: 'disconnected'; from: number; to: number };

/**
 * SNAP: the leader's snapshot at `zxid` (its log's base; everything up to it
 * committed). The bytes are opaque to the peer: the leader's peer names the
 * snapshot with `data: null` and its host attaches the bytes before sending.
 */
export interface SnapshotRef {
  zxid: number;
  data: Buffer | null;
}

/** What a member must make durable before it sends the messages of the same Ready. */
export interface PersistWork {
  /** Drop every logged entry above this zxid first (TRUNC). */
  truncateTo: number | null;
  /**
   * SNAP: make this snapshot durable after the TRUNC and before the entries;
   * it replaces the member's state, so the host installs it before applying
   * this Ready's `committed` (all of which lie above it).
   */
  snapshot: { zxid: number; data: Buffer } | null;
  entries: Entry[];
  acceptedEpoch: number | null;
  currentEpoch: number | null;
}

export interface Ready {
  persist: PersistWork;
  /**
   * To send once `persist` is durable, each on the connection to its
   * recipient that was up when the Ready was taken: the host drops those to
   * a member whose `disconnected` it stepped into the peer after taking this
   * Ready (they died with that connection; the peer has already started over
   * with that member, and the next connection must carry only what comes after).
   */
  messages: ZabMessage[];
  /** Entries now known committed, in zxid order: apply them. */
  committed: Entry[];
}

export interface PersistedState {
  acceptedEpoch: number;
  currentEpoch: number;
  /** The zxid of the snapshot the log continues (0: none, the log starts at the beginning). */
  snapshotZxid?: number;
  /** Logged entries above `snapshotZxid`, in zxid order. */
  log: Entry[];
}
