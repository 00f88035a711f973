/**
 * The worker's default session timeout as each backend grants it: the worker
 * requests WORKER_SESSION_TIMEOUT_MS and the server clamps it to its
 * [minSessionTimeout, maxSessionTimeout] (2 and 20 x tickTime unless set),
 * read back from the server's own `conf` and `cons`.
 */
import { expect, it } from 'vitest';
import { describeOnBackends } from '../helpers/backends.ts';
import { fourLetter } from '../helpers/four-letter.ts';
import { defineJob } from '../../shared/jobs/define-job.ts';
import { WORKER_SESSION_TIMEOUT_MS, startWorker } from '../../worker/runtime.ts';

const idle = defineJob<null, null>({ name: 'idle', run: () => null });

function confValue(conf: string, key: string): number {
  const m = new RegExp(`^${key}=(\\d+)$`, 'm').exec(conf);
  if (!m?.[1]) throw new Error(`conf has no ${key}:\n${conf}`);
  return Number(m[1]);
}

describeOnBackends('worker: default session timeout', (env) => {
  it('requests the default and gets it clamped to the server minimum and maximum', async () => {
    const worker = await startWorker({ connect: env.backend().connectString, root: env.root(), jobs: [idle], schedule: false });
    env.defer(() => worker.close());
    const sid = BigInt(`0x${worker.client.sessionId}`);
    let granted: number | null = null;
    let bounds: { min: number; max: number } | null = null;
    for (const m of env.backend().members) {
      const conf = await fourLetter(m.host, m.port, 'conf');
      bounds = { min: confValue(conf, 'minSessionTimeout'), max: confValue(conf, 'maxSessionTimeout') };
      for (const line of (await fourLetter(m.host, m.port, 'cons')).split('\n')) {
        const s = /sid=(0x[0-9a-f]+)/i.exec(line)?.[1];
        const to = /to=(\d+)/.exec(line)?.[1];
        if (s && to && BigInt(s) === sid) granted = Number(to);
      }
    }
    expect(bounds).not.toBeNull();
    const { min, max } = bounds as { min: number; max: number };
    expect(granted).toBe(Math.min(max, Math.max(min, WORKER_SESSION_TIMEOUT_MS)));
  });
});
