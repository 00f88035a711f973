/**
 * `node --import tsx bench/op-cost.bench.ts`: what one request costs the
 * members of a fresh 3-member ensemble (real processes, fsync on), in CPU
 * of the three together (from /proc) per unit, and the client's own CPU:
 * a read of a 300-byte node (200 in flight), a create or delete inside
 * multis of 1, 10 and 100 ops, a 300-byte set inside multis of 1 and 100.
 * The per-op and per-read figures are what a run's layout multiplies
 * (docs/jobs.md, single-run performance); a multi of 1 shows the cost of a
 * transaction of its own. BENCH_BACKEND=zookeeper for Apache ZooKeeper 3.8.
 */
import type { Op } from '../shared/client/coordination.ts';
import { connectCoordination } from '../shared/client/zk-client.ts';
import { startProcessEnsemble } from '../test/helpers/ensemble-processes.ts';
import { cpuSeconds } from './process-cpu.ts';

const BACKEND: 'drover' | 'zookeeper' = process.env['BENCH_BACKEND'] === 'zookeeper' ? 'zookeeper' : 'drover';
const UNITS = 40_000;


const ensemble = await startProcessEnsemble(BACKEND, 3, 500);
try {
  const client = await connectCoordination({ connect: ensemble.connectString, root: '/op-cost', sessionTimeoutMs: 10_000 });
  await client.ensurePath('/d');
  const data = Buffer.alloc(300, 97);
  await client.create('/d/x', data);
  const members = (): number => ensemble.members.reduce((s, m) => s + cpuSeconds(m.child?.pid), 0);
  const self = (): number => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  const measure = async (label: string, units: number, fn: () => Promise<void>): Promise<void> => {
    const [s0, c0, t0] = [members(), self(), Date.now()];
    await fn();
    const [s, c, ms] = [members() - s0, self() - c0, Date.now() - t0];
    const perUnit = (sec: number): string => ((sec * 1e6) / units).toFixed(1).padStart(7);
    console.log(`${label.padEnd(36)} members ${perUnit(s)} µs  client ${perUnit(c)} µs  ${String(Math.round(units / (ms / 1000))).padStart(7)}/s`);
  };
  console.log(`\nop cost: 3-member ${BACKEND} ensemble, fsync on; CPU per unit (members: the three together)\n`);
  await measure('read of 300 B', UNITS, async () => {
    for (let i = 0; i < UNITS; i += 200) await Promise.all(Array.from({ length: 200 }, () => client.get('/d/x')));
  });
  let k = 0;
  for (const per of [1, 10, 100]) {
    const txns = Math.max(20, Math.floor(UNITS / per / 2));
    await measure(`create or delete, ${per} per multi`, txns * per * 2, async () => {
      for (let t = 0; t < txns; t += 10) {
        await Promise.all(
          Array.from({ length: 10 }, async () => {
            const names = Array.from({ length: per }, () => `/d/n${k++}`);
            await client.multi(names.map((path): Op => ({ op: 'create', path })));
            await client.multi(names.map((path): Op => ({ op: 'delete', path })));
          }),
        );
      }
    });
  }
  for (const per of [1, 100]) {
    const txns = Math.max(20, Math.floor(UNITS / per));
    await measure(`set of 300 B, ${per} per multi`, txns * per, async () => {
      for (let t = 0; t < txns; t += 10) {
        await Promise.all(Array.from({ length: 10 }, () => client.multi(Array.from({ length: per }, (): Op => ({ op: 'set', path: '/d/x', data })))));
      }
    });
  }
  await client.close();
} finally {
  await ensemble.stop();
}
