/**
 * ZAB's messages between members. Links are FIFO (TCP); a broken link is
 * reported to both ends as `disconnected`, after which a follower re-syncs.
 */
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
  | { kind: 'vote'; from: number; to: number; round: number; vote: Vote; state: PeerState }
  | { kind: 'followerInfo'; from: number; to: number; acceptedEpoch: number; lastZxid: number }
  | { kind: 'leaderInfo'; from: number; to: number; epoch: number }
  | { kind: 'ackEpoch'; from: number; to: number; epoch: number; currentEpoch: number; lastZxid: number }
  /** DIFF (after an optional TRUNC) then NEWLEADER, in one message. */
  | { kind: 'sync'; from: number; to: number; epoch: number; truncateTo: number | null; entries: Entry[]; commitZxid: number }
  | { kind: 'ackNewLeader'; from: number; to: number; epoch: number }
  | { kind: 'upToDate'; from: number; to: number; epoch: number; commitZxid: number }
  | { kind: 'proposal'; from: number; to: number; epoch: number; entry: Entry }
  | { kind: 'ack'; from: number; to: number; epoch: number; zxid: number }
  | { kind: 'commit'; from: number; to: number; epoch: number; zxid: number }
  | { kind: 'ping'; from: number; to: number; epoch: number; commitZxid: number }
  | { kind: 'pong'; from: number; to: number; epoch: number }
  /** From the transport, not the wire: the link to `from` broke. */
  | { kind: 'disconnected'; from: number; to: number };

/** What a member must make durable before it sends the messages of the same Ready. */
export interface PersistWork {
  /** Drop every logged entry above this zxid first (TRUNC). */
  truncateTo: number | null;
  entries: Entry[];
  acceptedEpoch: number | null;
  currentEpoch: number | null;
}

export interface Ready {
  persist: PersistWork;
  messages: ZabMessage[];
  /** Entries now known committed, in zxid order: apply them. */
  committed: Entry[];
}

export interface PersistedState {
  acceptedEpoch: number;
  currentEpoch: number;
  log: Entry[];
}
