/** The benchmark workloads: what each request does, and what must exist first. */
import zookeeper from 'node-zookeeper-client';

export type Client = ReturnType<typeof zookeeper.createClient>;
export type Op = (client: Client, i: number, done: (err: unknown) => void) => void;

export const VALUE = Buffer.alloc(100, 120);
const KEYS = 1000;
export const DELETE_KEYS = 60_000;

export interface Workload {
  name: string;
  /** Nodes to create under the root before measuring. */
  keys: number;
  /** Stop after this many requests (delete cannot outrun its keys). */
  limit: number;
  op: (root: string) => Op;
}

export const workloads: Workload[] = [
  { name: 'create', keys: 0, limit: Infinity, op: (root) => (c, i, done) => c.create(`${root}/c${i}`, VALUE, (e) => done(e)) },
  { name: 'setData', keys: KEYS, limit: Infinity, op: (root) => (c, i, done) => c.setData(`${root}/k${i % KEYS}`, VALUE, -1, (e) => done(e)) },
  { name: 'getData', keys: KEYS, limit: Infinity, op: (root) => (c, i, done) => c.getData(`${root}/k${i % KEYS}`, (e) => done(e)) },
  {
    name: 'create ephemeral sequential',
    keys: 0,
    limit: Infinity,
    op: (root) => (c, _i, done) => c.create(`${root}/e-`, VALUE, zookeeper.CreateMode.EPHEMERAL_SEQUENTIAL, (e) => done(e)),
  },
  { name: 'delete', keys: DELETE_KEYS, limit: DELETE_KEYS, op: (root) => (c, i, done) => c.remove(`${root}/k${i}`, -1, (e) => done(e)) },
  {
    name: '90% read / 10% write',
    keys: KEYS,
    limit: Infinity,
    op: (root) => (c, i, done) =>
      i % 10 === 0 ? c.setData(`${root}/k${i % KEYS}`, VALUE, -1, (e) => done(e)) : c.getData(`${root}/k${i % KEYS}`, (e) => done(e)),
  },
];

export function connect(connectString: string): Promise<Client> {
  const client = zookeeper.createClient(connectString, { sessionTimeout: 30_000 });
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`connect to ${connectString} timed out`)), 15_000);
    client.once('connected', () => {
      clearTimeout(t);
      resolve(client);
    });
    client.connect();
  });
}

export function call(fn: (cb: (err: unknown) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => fn((err) => (err ? reject(err) : resolve())));
}

export async function createKeys(client: Client, root: string, n: number): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      await call((cb) => client.create(`${root}/k${i}`, VALUE, cb));
    }
  };
  await Promise.all(Array.from({ length: 200 }, worker));
}
