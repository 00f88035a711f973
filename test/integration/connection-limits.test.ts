/**
 * One client cannot hurt the others: maxClientCnxns per address, and a
 * client that floods requests without reading replies is throttled
 * (its socket stops being read) while another is served normally.
 */
import { describe, it, expect, afterEach } from 'vitest';
import net from 'node:net';
import { startDrover } from '../helpers/drover-target.ts';
import type { Target } from '../helpers/target.ts';
import { RawClient } from '../helpers/raw-client.ts';
import { connect } from '../helpers/zk-promise.ts';
import { encodeConnectRequest, encodeRequest } from '../../coordinator/protocol/request-codec.ts';

describe('connection limits and backpressure', () => {
  let target: Target | undefined;
  afterEach(async () => {
    await target?.stop();
    target = undefined;
  });

  it('refuses connections beyond maxClientCnxns from one address', async () => {
    target = await startDrover({ maxClientCnxns: 2 });
    const a = await RawClient.connect(target.host, target.port);
    const b = await RawClient.connect(target.host, target.port);
    await expect(RawClient.connect(target.host, target.port)).rejects.toThrow();
    a.close();
    await a.closed;
    // A slot freed is a slot available again (the server may see the close a moment later).
    let c: RawClient | undefined;
    for (let i = 0; i < 50 && !c; i++) c = await RawClient.connect(target.host, target.port).catch(() => undefined);
    expect(c).toBeDefined();
    b.close();
    c?.close();
  });

  it('a client that never reads its replies does not stall another client', async () => {
    target = await startDrover({});
    const healthy = await connect(target.connectString);
    await healthy.create('/flood', Buffer.alloc(50_000, 7));
    const flooder = net.connect(target.port, target.host);
    await new Promise<void>((resolve) => flooder.once('connect', () => resolve()));
    flooder.pause(); // never read: the server's output to it piles up
    flooder.write(encodeConnectRequest({ protocolVersion: 0, lastZxidSeen: 0, timeOut: 30_000, sessionId: 0n, passwd: Buffer.alloc(16), readOnly: false }));
    const burst = Buffer.concat(Array.from({ length: 2000 }, (_, i) => encodeRequest({ xid: i + 1, type: 4 }, { op: 4, path: '/flood', watch: false })));
    for (let k = 0; k < 10; k++) flooder.write(burst);
    // 20,000 x 50 KB replies would be a gigabyte; the healthy client is served meanwhile.
    for (let i = 0; i < 50; i++) {
      const { data } = await healthy.get('/flood');
      expect(data?.length).toBe(50_000);
    }
    flooder.destroy();
    healthy.close();
  });
});
