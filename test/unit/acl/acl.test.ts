import { describe, it, expect } from 'vitest';
import { digestId, parseDigestAuth } from '../../../coordinator/acl/digest.ts';
import { ipMatches } from '../../../coordinator/acl/ip.ts';
import { checkPerm, prepareAcl } from '../../../coordinator/acl/check.ts';
import { ZkError } from '../../../coordinator/protocol/error-codes.ts';

describe('ACLs', () => {
  it('digests as ZooKeeper does', () => {
    expect(digestId('super', 'test')).toBe('super:D/InIHSb7yEEbrWz8b9l71RjZJU=');
    expect(parseDigestAuth(Buffer.from('super:test'))).toEqual({ scheme: 'digest', id: 'super:D/InIHSb7yEEbrWz8b9l71RjZJU=' });
    expect(parseDigestAuth(Buffer.from('u:p:q')).id).toBe(digestId('u', 'p:q'));
  });

  it('matches IPv4 with CIDR prefixes and never an IPv6 peer', () => {
    expect(ipMatches('127.0.0.1', '127.0.0.1')).toBe(true);
    expect(ipMatches('127.0.0.1', '::ffff:127.0.0.1')).toBe(true);
    expect(ipMatches('10.1.0.0/16', '10.1.200.3')).toBe(true);
    expect(ipMatches('10.1.0.0/16', '10.2.0.3')).toBe(false);
    expect(ipMatches('192.168.1.128/25', '192.168.1.200')).toBe(true);
    expect(ipMatches('192.168.1.128/25', '192.168.1.100')).toBe(false);
    expect(ipMatches('0.0.0.0/0', '8.8.8.8')).toBe(true);
    expect(ipMatches('127.0.0.1', '::1')).toBe(false);
  });

  it('checks permissions by any matching entry; super and empty ACLs allow all', () => {
    const acl = [
      { perms: 1, id: { scheme: 'world', id: 'anyone' } },
      { perms: 31, id: { scheme: 'digest', id: 'a:h' } },
    ];
    expect(checkPerm(acl, 1, [])).toBe(true);
    expect(checkPerm(acl, 2, [])).toBe(false);
    expect(checkPerm(acl, 2, [{ scheme: 'digest', id: 'a:h' }])).toBe(true);
    expect(checkPerm(acl, 2, [{ scheme: 'super', id: '' }])).toBe(true);
    expect(checkPerm([], 16, [])).toBe(true);
  });

  it('expands auth to the caller digest ids, dropping duplicates, and rejects what ZooKeeper rejects', () => {
    const ids = [{ scheme: 'ip', id: '127.0.0.1' }, { scheme: 'digest', id: 'a:h' }];
    expect(prepareAcl([{ perms: 31, id: { scheme: 'auth', id: '' } }, { perms: 31, id: { scheme: 'digest', id: 'a:h' } }], ids)).toEqual([
      { perms: 31, id: { scheme: 'digest', id: 'a:h' } },
    ]);
    const invalid = (acl: { perms: number; id: { scheme: string; id: string } }[], held = ids): number | undefined => {
      try {
        prepareAcl(acl, held);
      } catch (e) {
        return (e as ZkError).code;
      }
      return undefined;
    };
    expect(invalid([{ perms: 31, id: { scheme: 'auth', id: '' } }], [{ scheme: 'ip', id: '1.1.1.1' }])).toBe(-114);
    expect(invalid([])).toBe(-114);
    expect(invalid([{ perms: 31, id: { scheme: 'world', id: 'me' } }])).toBe(-114);
    expect(invalid([{ perms: 31, id: { scheme: 'ip', id: '1.2.3.4/33' } }])).toBe(-114);
  });
});
