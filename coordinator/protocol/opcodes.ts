/** Request opcodes (ZooDefs.OpCode). */
export const Op = {
  notification: 0,
  create: 1,
  delete: 2,
  exists: 3,
  getData: 4,
  setData: 5,
  getACL: 6,
  setACL: 7,
  getChildren: 8,
  sync: 9,
  ping: 11,
  getChildren2: 12,
  check: 13,
  multi: 14,
  create2: 15,
  reconfig: 16,
  checkWatches: 17,
  removeWatches: 18,
  createContainer: 19,
  deleteContainer: 20,
  createTTL: 21,
  multiRead: 22,
  auth: 100,
  setWatches: 101,
  sasl: 102,
  getEphemerals: 103,
  getAllChildrenNumber: 104,
  setWatches2: 105,
  addWatch: 106,
  whoAmI: 107,
  createSession: -10,
  closeSession: -11,
  error: -1,
} as const;

export type OpCode = (typeof Op)[keyof typeof Op];

/** The requests that write (a txn each; multi as one). */
export const WRITE_OPS: ReadonlySet<number> = new Set<number>([Op.create, Op.create2, Op.createContainer, Op.createTTL, Op.delete, Op.setData, Op.setACL, Op.check, Op.multi]);

const OP_NAMES = new Map<number, string>(Object.entries(Op).map(([k, v]) => [v as number, k.toUpperCase()]));

/** An opcode's name as `cons` shows it (`GETDATA`), or the number. */
export function opName(op: number): string {
  return OP_NAMES.get(op) ?? String(op);
}

/** Special xids (ClientCnxn). */
export const Xid = {
  notification: -1,
  ping: -2,
  auth: -4,
  setWatches: -8,
} as const;

/** Watch event types sent in notifications. The server only ever sends 1..4. */
export const EventType = {
  none: -1,
  nodeCreated: 1,
  nodeDeleted: 2,
  nodeDataChanged: 3,
  nodeChildrenChanged: 4,
} as const;
export type EventTypeValue = 1 | 2 | 3 | 4;

export const KeeperState = { syncConnected: 3 } as const;

/** Create flags (CreateMode). */
export const CreateFlag = {
  persistent: 0,
  ephemeral: 1,
  persistentSequential: 2,
  ephemeralSequential: 3,
  container: 4,
  persistentWithTtl: 5,
  persistentSequentialWithTtl: 6,
} as const;

/** ACL permission bits. */
export const Perm = { read: 1, write: 2, create: 4, delete: 8, admin: 16, all: 31 } as const;

/** addWatch modes. */
export const AddWatchMode = { persistent: 0, persistentRecursive: 1 } as const;

/** removeWatches / checkWatches types (WatcherType). */
export const WatcherType = { children: 1, data: 2, any: 3 } as const;
