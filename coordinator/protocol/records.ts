/**
 * Jute records of the ZooKeeper client protocol, as TypeScript values.
 *
 * Conventions, fixed for the whole core:
 * - `long` fields that are zxids or times are `number` (exact to 2^53; an epoch
 *   would need 2^21 elections to overflow). Session ids and ephemeralOwner use
 *   the whole 64 bits, so they are `bigint`.
 * - A null `buffer` is `null`; an empty one is a zero-length Buffer. They differ.
 * - A null `ustring` decodes as "" (kazoo sends "" as null; ZooKeeper treats them alike).
 * - A null `vector` decodes as [].
 */
import type { EventTypeValue } from './opcodes.ts';

export interface Id {
  scheme: string;
  id: string;
}

export interface Acl {
  perms: number;
  id: Id;
}

export interface Stat {
  czxid: number;
  mzxid: number;
  ctime: number;
  mtime: number;
  version: number;
  /** As shown to clients (see zk-protocol.md trap 7), not the stored creation count. */
  cversion: number;
  aversion: number;
  ephemeralOwner: bigint;
  dataLength: number;
  numChildren: number;
  pzxid: number;
}

// ---------------------------------------------------------------- handshake

export interface ConnectRequest {
  protocolVersion: number;
  lastZxidSeen: number;
  timeOut: number;
  sessionId: bigint;
  passwd: Buffer;
  /** undefined when the client sent the 44-byte form without the byte (node-zookeeper-client). */
  readOnly: boolean | undefined;
}

export interface ConnectResponse {
  protocolVersion: number;
  timeOut: number;
  sessionId: bigint;
  passwd: Buffer;
  /** Written only when not undefined: reply with the byte iff the request had it. */
  readOnly: boolean | undefined;
}

// ---------------------------------------------------------------- headers

export interface RequestHeader {
  xid: number;
  type: number;
}

export interface ReplyHeader {
  xid: number;
  zxid: number;
  err: number;
}

export interface WatcherEvent {
  type: EventTypeValue;
  state: number;
  path: string;
}

// ---------------------------------------------------------------- requests

export interface CreateRequest {
  op: 1 | 15 | 19; // create, create2, createContainer
  path: string;
  data: Buffer | null;
  acl: Acl[];
  flags: number;
}
export interface CreateTtlRequest {
  op: 21;
  path: string;
  data: Buffer | null;
  acl: Acl[];
  flags: number;
  ttl: number;
}
export interface DeleteRequest {
  op: 2;
  path: string;
  version: number;
}
export interface ExistsRequest {
  op: 3;
  path: string;
  watch: boolean;
}
export interface GetDataRequest {
  op: 4;
  path: string;
  watch: boolean;
}
export interface SetDataRequest {
  op: 5;
  path: string;
  data: Buffer | null;
  version: number;
}
export interface GetAclRequest {
  op: 6;
  path: string;
}
export interface SetAclRequest {
  op: 7;
  path: string;
  acl: Acl[];
  version: number;
}
export interface GetChildrenRequest {
  op: 8 | 12; // getChildren, getChildren2
  path: string;
  watch: boolean;
}
export interface SyncRequest {
  op: 9;
  path: string;
}
export interface PingRequest {
  op: 11;
}
export interface CheckVersionRequest {
  op: 13;
  path: string;
  version: number;
}
/** A write op inside multi (14). */
export type MultiWriteOp = CreateRequest | CreateTtlRequest | DeleteRequest | SetDataRequest | CheckVersionRequest;
export interface MultiRequest {
  op: 14;
  ops: MultiWriteOp[];
}
/** A read op inside multiRead (22): getChildren (8) or getData (4). */
export type MultiReadOp = GetChildrenRequest | GetDataRequest;
export interface MultiReadRequest {
  op: 22;
  ops: MultiReadOp[];
}
/** Null and "" differ here, as in ZooKeeper: a non-null newMembers (even "") asks for the non-incremental form. */
export interface ReconfigRequest {
  op: 16;
  joiningServers: string | null;
  leavingServers: string | null;
  newMembers: string | null;
  curConfigId: number;
}
export interface WatchesRequest {
  op: 17 | 18; // checkWatches, removeWatches
  path: string;
  /** WatcherType: 1 children, 2 data, 3 any. */
  type: number;
}
export interface AuthRequest {
  op: 100;
  type: number;
  scheme: string;
  auth: Buffer;
}
export interface SetWatchesRequest {
  op: 101 | 105; // setWatches, setWatches2 (the two persistent lists are [] for 101)
  relativeZxid: number;
  dataWatches: string[];
  existWatches: string[];
  childWatches: string[];
  persistentWatches: string[];
  persistentRecursiveWatches: string[];
}
export interface SaslRequest {
  op: 102;
  token: Buffer;
}
export interface GetEphemeralsRequest {
  op: 103;
  prefixPath: string;
}
export interface GetAllChildrenNumberRequest {
  op: 104;
  path: string;
}
export interface AddWatchRequest {
  op: 106;
  path: string;
  mode: number;
}
export interface WhoAmIRequest {
  op: 107;
}
export interface CloseSessionRequest {
  op: -11;
}

export type Request =
  | CreateRequest
  | CreateTtlRequest
  | DeleteRequest
  | ExistsRequest
  | GetDataRequest
  | SetDataRequest
  | GetAclRequest
  | SetAclRequest
  | GetChildrenRequest
  | SyncRequest
  | PingRequest
  | CheckVersionRequest
  | MultiRequest
  | MultiReadRequest
  | ReconfigRequest
  | WatchesRequest
  | AuthRequest
  | SetWatchesRequest
  | SaslRequest
  | GetEphemeralsRequest
  | GetAllChildrenNumberRequest
  | AddWatchRequest
  | WhoAmIRequest
  | CloseSessionRequest;

// ---------------------------------------------------------------- responses
// A reply with err != 0 carries no body; these are the success bodies, keyed by `op`.

export interface CreateResponse {
  op: 1;
  path: string;
}
/** Reply to create2, createContainer and createTTL. */
export interface Create2Response {
  op: 15 | 19 | 21;
  path: string;
  stat: Stat;
}
export interface StatResponse {
  op: 3 | 5 | 7 | 13; // exists, setData, setACL, standalone check
  stat: Stat;
}
export interface GetDataResponse {
  op: 4 | 16; // getData, reconfig (the config bytes)
  data: Buffer | null;
  stat: Stat;
}
export interface GetAclResponse {
  op: 6;
  acl: Acl[];
  stat: Stat;
}
export interface GetChildrenResponse {
  op: 8;
  children: string[];
}
export interface GetChildren2Response {
  op: 12;
  children: string[];
  stat: Stat;
}
export interface SyncResponse {
  op: 9;
  path: string;
}
export interface SaslResponse {
  op: 102;
  token: Buffer;
}
export interface GetEphemeralsResponse {
  op: 103;
  ephemerals: string[];
}
export interface GetAllChildrenNumberResponse {
  op: 104;
  totalNumber: number;
}
/** addWatch's ErrorResponse{err=0}. */
export interface AddWatchResponse {
  op: 106;
}
export interface WhoAmIResponse {
  op: 107;
  clientInfo: { authScheme: string; user: string }[];
}

/** One result inside a MultiResponse. `type` is the MultiHeader type written on the wire. */
export type MultiResult =
  | { type: 1; path: string } // create (plain create and create inside multi: echo 1)
  | { type: 15; path: string; stat: Stat } // create2 / createContainer / createTTL
  | { type: 2 } // delete
  | { type: 5; stat: Stat } // setData
  | { type: 13 } // check
  | { type: -1; err: number } // error
  | { type: 4; data: Buffer | null; stat: Stat } // multiRead getData
  | { type: 8; children: string[] }; // multiRead getChildren

export interface MultiResponse {
  op: 14 | 22;
  results: MultiResult[];
}

/** Bodiless success replies: delete, ping, auth, setWatches, checkWatches, removeWatches, closeSession. */
export interface EmptyResponse {
  op: 2 | 11 | 17 | 18 | 100 | 101 | 105 | -11;
}

export type Response =
  | CreateResponse
  | Create2Response
  | StatResponse
  | GetDataResponse
  | GetAclResponse
  | GetChildrenResponse
  | GetChildren2Response
  | SyncResponse
  | SaslResponse
  | GetEphemeralsResponse
  | GetAllChildrenNumberResponse
  | AddWatchResponse
  | WhoAmIResponse
  | MultiResponse
  | EmptyResponse;
