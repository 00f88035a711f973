/**
 * One load generator thread: its own node-zookeeper-client sessions, each
 * with OUTSTANDING requests in flight. Several run at once so the client
 * library's own CPU does not cap what the servers can show.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { connect, workloads, type Client } from './workloads.ts';

interface Job {
  connectString: string;
  workload: string;
  root: string;
  seconds: number;
  connections: number;
  outstanding: number;
  /** Request indices are first, first + stride, ...: disjoint across threads. */
  first: number;
  stride: number;
}

const job = workerData as Job;
const port = parentPort;
if (!port) throw new Error('load-worker must run as a worker thread');
const w = workloads.find((x) => x.name === job.workload);
if (!w) throw new Error(`unknown workload ${job.workload}`);
const op = w.op(job.root);

const clients: Client[] = await Promise.all(Array.from({ length: job.connections }, () => connect(job.connectString)));
port.postMessage({ ready: true });
await new Promise<void>((resolve) => port.once('message', () => resolve()));

const latencies: number[] = [];
let next = job.first;
let failures = 0;
const start = performance.now();
const deadline = start + job.seconds * 1000;
await Promise.all(
  clients.map(
    (client) =>
      new Promise<void>((resolve) => {
        let inFlight = 0;
        const issue = (): void => {
          if (performance.now() >= deadline || next >= w.limit) {
            if (inFlight === 0) resolve();
            return;
          }
          const i = next;
          next += job.stride;
          const t0 = performance.now();
          inFlight++;
          op(client, i, (err) => {
            inFlight--;
            if (err) failures++;
            latencies.push(performance.now() - t0);
            issue();
          });
        };
        for (let k = 0; k < job.outstanding; k++) issue();
      }),
  ),
);
const elapsedMs = performance.now() - start;
for (const c of clients) c.close();
port.postMessage({ latencies: Float64Array.from(latencies), elapsedMs, failures });
