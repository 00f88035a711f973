import { describe, it, expect } from 'vitest';
import { SessionTable, negotiateTimeout } from '../../../coordinator/session/session-table.ts';
import { firstSessionId, sessionPassword } from '../../../coordinator/session/session-id.ts';

describe('session table', () => {
  it('expires a session in the bucket roundUp(now + timeout, tick), not before', () => {
    const t = new SessionTable(100);
    t.add(1n, 400, 1050); // roundUp(1450) = 1500
    expect(t.expireDue(1499)).toEqual([]);
    expect(t.expireDue(1500)).toEqual([1n]);
    expect(t.isClosing(1n)).toBe(true);
    expect(t.touch(1n, 1500)).toBe(false);
    t.remove(1n);
    expect(t.has(1n)).toBe(false);
  });

  it('a touch moves the session to a later bucket', () => {
    const t = new SessionTable(100);
    t.add(1n, 400, 0);
    t.add(2n, 400, 0);
    expect(t.touch(1n, 300)).toBe(true);
    expect(t.expireDue(500)).toEqual([2n]);
    expect(t.expireDue(799)).toEqual([]);
    expect(t.expireDue(800)).toEqual([1n]);
    expect(t.nextExpiryAt()).toBeUndefined();
  });

  it('serializes ids and timeouts; restored sessions get a full timeout from now', () => {
    const t = new SessionTable(100);
    t.add(0xff00000000000001n, 4000, 0);
    t.add(7n, 2000, 0);
    const r = SessionTable.deserialize(t.serialize(), 100, 10_000);
    expect(r.timeoutOf(0xff00000000000001n)).toBe(4000);
    expect(r.expireDue(11_999)).toEqual([]);
    expect(r.expireDue(12_100)).toEqual([7n]);
  });

  it('negotiates timeouts into [min, max]', () => {
    expect(negotiateTimeout(1, 4000, 40_000)).toBe(4000);
    expect(negotiateTimeout(10_000, 4000, 40_000)).toBe(10_000);
    expect(negotiateTimeout(1e9, 4000, 40_000)).toBe(40_000);
  });

  it('lays session ids out as ZooKeeper does and derives stable 16-byte passwords', () => {
    const id = firstSessionId(3, 0x123456789a);
    expect(id >> 56n).toBe(3n);
    expect((id >> 16n) & 0xffffffffffn).toBe(0x123456789an);
    expect(id & 0xffffn).toBe(0n);
    const secret = Buffer.from('s');
    expect(sessionPassword(secret, id)).toHaveLength(16);
    expect(sessionPassword(secret, id)).toEqual(sessionPassword(secret, id));
    expect(sessionPassword(secret, id)).not.toEqual(sessionPassword(secret, id + 1n));
  });
});
