/**
 * The member-to-member transport over loopback: messages arrive in order,
 * and one larger than a part (a SNAP of a big tree) is split and reassembled
 * whole, still in order with what follows it.
 */
import { it, expect } from 'vitest';
import { PeerTransport, FrameType } from '../../coordinator/member/peer-transport.ts';
import { silentLogger } from '../../coordinator/base/log.ts';
import { freePorts } from '../helpers/drover-target.ts';

it('carries a 72 MiB message (above the 64 MiB frame cap) between members whole and in order', async () => {
  const [p1, p2] = (await freePorts(2)) as [number, number];
  const received: { from: number; type: number; body: Buffer }[] = [];
  let arrived: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (arrived = resolve));
  const listen = (port: number) => ({ host: '127.0.0.1', port });
  const a = new PeerTransport({ id: 1, listen: listen(p1), peers: new Map([[2, listen(p2)]]), log: silentLogger(), onFrame: () => undefined, onDisconnected: () => undefined });
  const b = new PeerTransport({
    id: 2,
    listen: listen(p2),
    peers: new Map([[1, listen(p1)]]),
    log: silentLogger(),
    onFrame: (from, type, body) => {
      received.push({ from, type, body: Buffer.from(body) });
      if (received.length === 3) arrived();
    },
    onDisconnected: () => undefined,
  });
  await Promise.all([a.start(), b.start()]);
  const big = Buffer.alloc(72 * 1024 * 1024);
  for (let i = 0; i < big.length; i += 4096) big.writeUInt32BE(i, i);
  // The outbound link comes up asynchronously: send once it is.
  const deadline = Date.now() + 10_000;
  while (!a.send(2, FrameType.zab, Buffer.from('first'))) {
    if (Date.now() > deadline) throw new Error('link never came up');
    await new Promise((r) => setTimeout(r, 20)); // reconnect poll
  }
  expect(a.send(2, FrameType.zab, big)).toBe(true);
  expect(a.send(2, FrameType.forward, Buffer.from('after'))).toBe(true);
  await done;
  expect(received.map((r) => [r.from, r.type])).toEqual([
    [1, FrameType.zab],
    [1, FrameType.zab],
    [1, FrameType.forward],
  ]);
  expect(received[0]?.body.toString()).toBe('first');
  expect(received[1]?.body.equals(big)).toBe(true);
  expect(received[2]?.body.toString()).toBe('after');
  await Promise.all([a.close(), b.close()]);
}, 30_000);
