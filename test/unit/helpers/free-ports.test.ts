/** freePorts (test/helpers/drover-target.ts): ports for servers configured before they listen. */
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePorts } from '../../helpers/drover-target.ts';

describe('freePorts', () => {
  it('hands out distinct ports, none of those it is told are taken, all free once it returns', async () => {
    // freePort one after another repeats a port in ~0.6% of 9-port sets on this machine kind: a
    // reconfig test read a clash as BAD_ARGUMENTS. The ports held open together cannot repeat.
    // Hundreds at a time: released one by one they would repeat (a birthday in ~28,000 ports).
    const taken = await freePorts(300);
    expect(new Set(taken).size).toBe(300);
    for (let round = 0; round < 3; round++) {
      const ports = await freePorts(300, taken);
      expect(new Set(ports).size).toBe(300);
      expect(ports.filter((p) => taken.includes(p))).toEqual([]);
    }
    const [port] = (await freePorts(1)) as [number];
    const s = net.createServer();
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, '127.0.0.1', resolve);
    });
    await new Promise<void>((resolve) => s.close(() => resolve()));
  });
});
