/**
 * Random and mutated frames never crash the server, and a second client
 * keeps being served throughout. Seeded, so a failure replays: the seed is
 * printed in the assertion message.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import net from 'node:net';
import zookeeper from 'node-zookeeper-client';
import { startDrover } from '../helpers/drover-target.ts';
import type { Target } from '../helpers/target.ts';
import { encodeConnectRequest, encodeRequest } from '../../coordinator/protocol/request-codec.ts';
import type { Request } from '../../coordinator/protocol/records.ts';
import { mulberry32 } from '../helpers/seeded-rng.ts';

type Client = ReturnType<typeof zookeeper.createClient>;


const sampleRequests: Request[] = [
  { op: 1, path: '/fz/a', data: Buffer.from('x'), acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }], flags: 0 },
  { op: 4, path: '/fz', watch: true },
  { op: 5, path: '/fz', data: Buffer.from('y'), version: -1 },
  { op: 12, path: '/', watch: false },
  { op: 2, path: '/fz/a', version: -1 },
  {
    op: 14,
    ops: [
      { op: 13, path: '/fz', version: 0 },
      { op: 1, path: '/fz/m', data: null, acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }], flags: 2 },
    ],
  },
  { op: 101, relativeZxid: 0, dataWatches: ['/fz'], existWatches: ['/nope'], childWatches: ['/'], persistentWatches: [], persistentRecursiveWatches: [] },
  { op: 7, path: '/fz/a', acl: [{ perms: 31, id: { scheme: 'digest', id: 'u:p' } }], version: -1 },
];

function handshake(): Buffer {
  return encodeConnectRequest({ protocolVersion: 0, lastZxidSeen: 0, timeOut: 4000, sessionId: 0n, passwd: Buffer.alloc(16), readOnly: false });
}

function mutate(frame: Buffer, r: () => number): Buffer {
  const out = Buffer.from(frame);
  const edits = 1 + Math.floor(r() * 4);
  for (let i = 0; i < edits; i++) {
    const kind = r();
    const pos = Math.floor(r() * out.length);
    if (kind < 0.6) out[pos] = Math.floor(r() * 256);
    else if (kind < 0.8) return out.subarray(0, pos); // truncated
    else out.writeInt32BE(Math.floor(r() * 2 ** 31) * (r() < 0.5 ? -1 : 1), Math.min(pos, out.length - 4));
  }
  return out;
}

/** Sends bytes on a fresh socket and waits until the server closes it or a short idle passes. */
function blast(port: number, bytes: Buffer[]): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      s.destroy();
      resolve();
    };
    s.on('error', finish);
    s.on('close', finish);
    s.on('data', () => undefined);
    s.on('connect', () => {
      for (const b of bytes) s.write(b);
      // End our side; the server either answers and keeps waiting or closes.
      s.end();
      setTimeout(finish, 200).unref();
    });
  });
}

function getData(client: Client, p: string): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => client.getData(p, (err, data) => (err ? reject(err) : resolve(data))));
}

describe('fuzzing the client port', () => {
  let target: Target;
  let healthy: Client;
  beforeAll(async () => {
    target = await startDrover({});
    healthy = zookeeper.createClient(target.connectString, { sessionTimeout: 10_000 });
    await new Promise<void>((resolve) => {
      healthy.once('connected', () => resolve());
      healthy.connect();
    });
    await new Promise<void>((resolve, reject) => healthy.create('/fz', Buffer.from('ok'), (e) => (e ? reject(e) : resolve())));
  });
  afterAll(async () => {
    healthy.close();
    await target.stop();
  });

  const seed = Number(process.env['DROVER_SEED'] ?? Date.now() % 1_000_000);
  it(`survives random and mutated frames (seed ${seed})`, async () => {
    const r = mulberry32(seed);
    for (let round = 0; round < 60; round++) {
      const frames: Buffer[] = [];
      const mode = r();
      if (mode < 0.25) {
        frames.push(Buffer.from(Array.from({ length: 1 + Math.floor(r() * 64) }, () => Math.floor(r() * 256))));
      } else if (mode < 0.5) {
        frames.push(mutate(handshake(), r));
      } else {
        frames.push(handshake());
        for (let k = 0; k < 3; k++) {
          const req = sampleRequests[Math.floor(r() * sampleRequests.length)] as Request;
          const frame = encodeRequest({ xid: k + 1, type: req.op }, req);
          frames.push(r() < 0.7 ? mutate(frame, r) : frame);
        }
      }
      await blast(target.port, frames);
      const data = await getData(healthy, '/fz');
      expect(data?.toString(), `seed ${seed} round ${round}`).toBeDefined();
    }
  });

  it('closes on an oversized frame length and keeps serving others', async () => {
    const big = Buffer.alloc(4);
    big.writeInt32BE(0x100000 + 10);
    await blast(target.port, [handshake(), big]);
    expect((await getData(healthy, '/fz'))?.toString()).toBeDefined();
  });
});
