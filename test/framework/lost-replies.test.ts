/**
 * A write whose reply is lost after the server applied it (a TCP proxy
 * delivers the request and drops the reply with the connection) must be
 * reported as applied, once, on both backends: the client finds out by
 * itself (docs/adr/0009-write-witness.md), so no caller has to.
 */
import { expect, it } from 'vitest';
import { describeOnBackends, nextEvent } from '../helpers/backends.ts';
import { ZkCode } from '../../shared/client/zk-error.ts';
import { connectCoordination } from '../../shared/client/zk-client.ts';

const SET_DATA = 5;
const MULTI = 14;

describeOnBackends('a write whose reply is lost', (env) => {
  it('a multi that was applied resolves with its results, and is not applied twice', async () => {
    const { client, proxy } = await env.proxied({ sessionTimeoutMs: 6000 });
    await client.create('/a', Buffer.from('0'));
    const lost = proxy.loseReplyTo(MULTI);
    const results = await client.multi([
      { op: 'set', path: '/a', data: Buffer.from('1'), version: 0 },
      { op: 'create', path: '/a-child', data: Buffer.from('x') },
    ]);
    expect(await lost).toBe(0);
    expect(results[0]).toMatchObject({ op: 'set', stat: { version: 1 } });
    expect(results[1]).toMatchObject({ op: 'create', path: '/a-child' });
    expect((await client.get('/a')).stat.version).toBe(1);
  });

  it('a conditional set, a create and a sequential create that were applied answer as applied, with their stat and names', async () => {
    const { client, proxy } = await env.proxied({ sessionTimeoutMs: 6000 });
    await client.create('/n', Buffer.from('0'));
    // The witness is a multi: these single writes travel as one, so their lost reply is a multi's.
    let lost = proxy.loseReplyTo(MULTI);
    expect(await client.set('/n', Buffer.from('1'), 0)).toMatchObject({ version: 1 });
    expect(await lost).toBe(0);
    lost = proxy.loseReplyTo(MULTI);
    expect(await client.create('/m', Buffer.from('m'))).toBe('/m');
    expect(await lost).toBe(0);
    await client.create('/q');
    await client.create('/q/e-', Buffer.from('first'), { mode: 'persistent_sequential' });
    lost = proxy.loseReplyTo(MULTI);
    const name = await client.create('/q/e-', Buffer.from('second'), { mode: 'persistent_sequential' });
    expect(await lost).toBe(0);
    expect(name).toBe('/q/e-0000000001');
    expect(await client.children('/q')).toHaveLength(2);
    expect((await client.get(name)).data.toString()).toBe('second');
  });

  it('a write the server refused is refused again after its reply was lost, with the true error', async () => {
    const { client, proxy } = await env.proxied({ sessionTimeoutMs: 6000 });
    await client.create('/v', Buffer.from('0'));
    await client.set('/v', Buffer.from('1'));
    const lost = proxy.loseReplyTo(MULTI);
    await expect(client.multi([{ op: 'set', path: '/v', data: Buffer.from('2'), version: 0 }])).rejects.toMatchObject({ code: ZkCode.BAD_VERSION, opIndex: 0 });
    await lost; // (a refused multi's reply header carries 0; its error is in the op results)
    expect((await client.get('/v')).data.toString()).toBe('1');
  });

  it('unconditional writes stay plain requests: repeating them is harmless', async () => {
    const { client, proxy } = await env.proxied({ sessionTimeoutMs: 6000 });
    await client.create('/u', Buffer.from('0'));
    const lost = proxy.loseReplyTo(SET_DATA);
    expect(await client.set('/u', Buffer.from('9'))).toMatchObject({ version: expect.any(Number) });
    expect(await lost).toBe(0);
    expect((await client.get('/u')).data.toString()).toBe('9');
  });

  it('when the session ends before the answer, the write fails with DROVER_WRITE_UNKNOWN', async () => {
    const { client, proxy } = await env.proxied({ sessionTimeoutMs: 2000 });
    await client.create('/w', Buffer.from('0'));
    const lostState = nextEvent<void>('LOST', (deliver) => client.onState((c) => c.state === 'LOST' && deliver()), 30_000);
    // Keep the client away until its session has expired on the server.
    void proxy.loseReplyTo(MULTI).then(() => proxy.cut());
    const write = client.multi([{ op: 'set', path: '/w', data: Buffer.from('1'), version: 0 }]);
    const settled = write.then(
      () => null,
      (err: unknown) => err,
    );
    await lostState;
    proxy.restore();
    expect(await settled).toMatchObject({ code: 'DROVER_WRITE_UNKNOWN' });
    // It was in fact applied: the caller was told it cannot know, not that it failed.
    expect((await client.get('/w')).data.toString()).toBe('1');
  }, 40_000);

  it('the witness directory is made under an existing root only: a write under a mistyped root fails and makes nothing', async () => {
    const missing = `${env.root()}-missing`;
    const wrong = await connectCoordination({ connect: env.backend().connectString, root: missing, createRoot: false });
    env.defer(() => wrong.close());
    await expect(wrong.create('/a')).rejects.toMatchObject({ code: ZkCode.NO_NODE });
    const top = await env.client({ root: '/' });
    expect(await top.exists(missing)).toBeNull();
    // Under the right root the directory holds this session's witness slots, ephemeral.
    const client = await env.client();
    await client.create('/b');
    const slots = await client.children('/.writes');
    expect(slots.some((s) => s.startsWith(`${client.sessionId}-`))).toBe(true);
    expect((await client.exists(`/.writes/${slots[0]}`))?.ephemeralOwner).not.toBe('0');
  });
});
