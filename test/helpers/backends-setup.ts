/**
 * vitest globalSetup: one 3-member Drover ensemble and one Apache ZooKeeper
 * 3.8 for every framework test file (each test works under a fresh root
 * namespace, so they do not see each other). Both tick at 500 ms, so
 * session timeouts of 1..10 s are allowed on both.
 * DROVER_TEST_BACKENDS=drover (or zookeeper) starts only one.
 */
import type { TestProject } from 'vitest/node';
import { startDroverEnsemble } from './drover-ensemble.ts';
import { startApacheZk, apacheZkAvailable } from './apache-zk.ts';

export const BACKEND_TICK_MS = 500;

declare module 'vitest' {
  export interface ProvidedContext {
    droverConnect: string;
    zookeeperConnect: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const wanted = (process.env['DROVER_TEST_BACKENDS'] ?? 'drover,zookeeper').split(',');
  const stops: (() => Promise<void>)[] = [];
  let drover = '';
  let zookeeper = '';
  if (wanted.includes('drover')) {
    const e = await startDroverEnsemble(3, { tickTime: BACKEND_TICK_MS });
    stops.push(() => e.stop());
    drover = e.clientPorts.map((p) => `127.0.0.1:${p}`).join(',');
  }
  if (wanted.includes('zookeeper')) {
    if (!apacheZkAvailable()) throw new Error('Apache ZooKeeper 3.8 is needed by the framework tests: apt-get install -y zookeeper (.ci/run does this), or set DROVER_TEST_BACKENDS=drover');
    const z = await startApacheZk({ tickTime: BACKEND_TICK_MS });
    stops.push(() => z.stop());
    zookeeper = z.connectString;
  }
  project.provide('droverConnect', drover);
  project.provide('zookeeperConnect', zookeeper);
  return async () => {
    await Promise.all(stops.map((s) => s()));
  };
}
