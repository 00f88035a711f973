/**
 * A worker whose connection runs through a TCP proxy the test controls
 * (lost replies, cuts), with every event it reports collected.
 */
import type { Job } from '../../shared/jobs/define-job.ts';
import { startWorker, type Worker } from '../../worker/runtime.ts';
import type { WorkerEvent } from '../../worker/worker-events.ts';
import type { BackendEnv } from './backends.ts';
import type { TcpProxy } from './tcp-proxy.ts';

export async function startProxiedWorker(
  env: BackendEnv,
  jobs: Job[],
  opts: Partial<Parameters<typeof startWorker>[0]> = {},
): Promise<{ worker: Worker; proxy: TcpProxy; events: WorkerEvent[] }> {
  const { proxy } = await env.proxied();
  const worker = await startWorker({ connect: proxy.address, root: env.root(), jobs, schedule: false, sessionTimeoutMs: 6_000, ...opts });
  env.defer(() => worker.close({ graceMs: 500 }));
  const events: WorkerEvent[] = [];
  worker.onEvent((e) => events.push(e));
  return { worker, proxy, events };
}
