/** A thin promise layer over node-zookeeper-client for tests: results or the client's exception (with .code). */
import zookeeper, { type ACL, type Client, type Stat, type Event } from 'node-zookeeper-client';

export { zookeeper };

export const OPEN: ACL[] = [new zookeeper.ACL(zookeeper.Permission.ALL, new zookeeper.Id('world', 'anyone'))];
export type { Client, Stat, Event };

export interface ZkCall {
  client: Client;
  create(path: string, data?: Buffer | null, mode?: number, acl?: ACL[]): Promise<string>;
  get(path: string, watch?: (e: Event) => void): Promise<{ data: Buffer | undefined; stat: Stat }>;
  set(path: string, data: Buffer | null, version?: number): Promise<Stat>;
  remove(path: string, version?: number): Promise<void>;
  exists(path: string, watch?: (e: Event) => void): Promise<Stat | null>;
  children(path: string, watch?: (e: Event) => void): Promise<{ children: string[]; stat: Stat }>;
  getACL(path: string): Promise<{ acl: ACL[]; stat: Stat }>;
  setACL(path: string, acl: ACL[], version?: number): Promise<Stat>;
  addAuth(scheme: string, auth: string): void;
  close(): void;
}

export function connect(connectString: string, opts: { sessionTimeout?: number } = {}): Promise<ZkCall> {
  const client = zookeeper.createClient(connectString, { sessionTimeout: opts.sessionTimeout ?? 10_000, retries: 0 });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`connect to ${connectString} timed out`)), 15_000);
    client.once('connected', () => {
      clearTimeout(timer);
      resolve(wrap(client));
    });
    client.connect();
  });
}

export function codeOf(err: unknown): number | undefined {
  return (err as { code?: number } | null)?.code;
}

/** Awaits a rejection and returns its ZooKeeper error code. */
export async function failsWith(p: Promise<unknown>): Promise<number | undefined> {
  try {
    await p;
  } catch (err) {
    return codeOf(err);
  }
  throw new Error('expected the operation to fail');
}

function wrap(client: Client): ZkCall {
  const cb =
    <T>(resolve: (v: T) => void, reject: (e: unknown) => void) =>
    (err: unknown, value?: T) =>
      err ? reject(err) : resolve(value as T);
  return {
    client,
    create: (path, data = null, mode = zookeeper.CreateMode.PERSISTENT, acl = OPEN) =>
      new Promise((res, rej) => client.create(path, data as Buffer, acl, mode, cb(res, rej))),
    get: (path, watch) =>
      new Promise((res, rej) => {
        const done = (err: unknown, data?: Buffer, stat?: Stat): void => (err ? rej(err) : res({ data, stat: stat as Stat }));
        if (watch) client.getData(path, watch, done);
        else client.getData(path, done);
      }),
    set: (path, data, version = -1) => new Promise((res, rej) => client.setData(path, data as Buffer, version, cb(res, rej))),
    remove: (path, version = -1) => new Promise((res, rej) => client.remove(path, version, (err: unknown) => (err ? rej(err) : res()))),
    exists: (path, watch) =>
      new Promise((res, rej) => {
        const done = (err: unknown, stat?: Stat): void => (err ? rej(err) : res(stat ?? null));
        if (watch) client.exists(path, watch, done);
        else client.exists(path, done);
      }),
    children: (path, watch) =>
      new Promise((res, rej) => {
        const done = (err: unknown, children?: string[], stat?: Stat): void => (err ? rej(err) : res({ children: children ?? [], stat: stat as Stat }));
        if (watch) client.getChildren(path, watch, done);
        else client.getChildren(path, done);
      }),
    getACL: (path) =>
      new Promise((res, rej) => client.getACL(path, (err: unknown, acl?: ACL[], stat?: Stat) => (err ? rej(err) : res({ acl: acl ?? [], stat: stat as Stat })))),
    setACL: (path, acl, version = -1) => new Promise((res, rej) => client.setACL(path, acl, version, cb(res, rej))),
    addAuth: (scheme, auth) => client.addAuthInfo(scheme, Buffer.from(auth)),
    close: () => client.close(),
  };
}

/** A zxid/ephemeralOwner Buffer from node-zookeeper-client's Stat as a bigint. */
export function long(b: Buffer): bigint {
  return b.readBigUInt64BE(0);
}
