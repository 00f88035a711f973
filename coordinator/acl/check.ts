/** ACL validation, `auth` expansion and the permission check, as ZooKeeper's PrepRequestProcessor does them. */
import type { Acl, Id } from '../protocol/records.ts';
import { ErrorCode, ZkError } from '../protocol/error-codes.ts';
import { Perm } from '../protocol/opcodes.ts';
import { isValidDigestId } from './digest.ts';
import { ipMatches, isValidIpAcl } from './ip.ts';

/** Schemes whose ids count as authenticated for `auth` expansion. */
function isAuthenticatedScheme(scheme: string): boolean {
  return scheme === 'digest';
}

/** Validates an ACL list and expands `auth` entries; throws ZkError(INVALID_ACL). */
export function prepareAcl(acl: readonly Acl[], authIds: readonly Id[]): Acl[] {
  if (acl.length === 0) throw new ZkError(ErrorCode.INVALID_ACL, 'empty ACL');
  // Nearly every create carries world:anyone alone: the same result, without the general path's set and closure.
  if (acl.length === 1) {
    const a = acl[0] as Acl;
    if (a.id.scheme === 'world' && a.id.id === 'anyone') return [{ perms: a.perms, id: { scheme: 'world', id: 'anyone' } }];
  }
  const out: Acl[] = [];
  const seen = new Set<string>();
  const push = (a: Acl): void => {
    const key = `${a.perms}|${a.id.scheme}|${a.id.id}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push(a);
  };
  for (const a of acl) {
    const scheme = a.id.scheme;
    const id = a.id.id ?? '';
    switch (scheme) {
      case 'world':
        if (id !== 'anyone') throw new ZkError(ErrorCode.INVALID_ACL, `world ACL id must be 'anyone', not '${id}'`);
        push({ perms: a.perms, id: { scheme, id } });
        break;
      case 'auth': {
        let any = false;
        for (const held of authIds) {
          if (!isAuthenticatedScheme(held.scheme)) continue;
          any = true;
          push({ perms: a.perms, id: { scheme: held.scheme, id: held.id } });
        }
        if (!any) throw new ZkError(ErrorCode.INVALID_ACL, "the 'auth' scheme needs an authenticated id (addauth first)");
        break;
      }
      case 'digest':
        if (!isValidDigestId(id)) throw new ZkError(ErrorCode.INVALID_ACL, `bad digest ACL id '${id}'`);
        push({ perms: a.perms, id: { scheme, id } });
        break;
      case 'ip':
        if (!isValidIpAcl(id)) throw new ZkError(ErrorCode.INVALID_ACL, `bad ip ACL id '${id}'`);
        push({ perms: a.perms, id: { scheme, id } });
        break;
      default:
        throw new ZkError(ErrorCode.INVALID_ACL, `unknown ACL scheme '${scheme}'`);
    }
  }
  return out;
}

/** Access is granted when an entry carrying any bit of `perm` matches an id the caller holds. */
export function checkPerm(acl: readonly Acl[], perm: number, authIds: readonly Id[]): boolean {
  if (acl.length === 0) return true;
  for (const held of authIds) if (held.scheme === 'super') return true;
  for (const a of acl) {
    if ((a.perms & perm) === 0) continue;
    const scheme = a.id.scheme;
    if (scheme === 'world') {
      if (a.id.id === 'anyone') return true;
      continue;
    }
    for (const held of authIds) {
      if (held.scheme !== scheme) continue;
      if (scheme === 'ip' ? ipMatches(a.id.id, held.id) : held.id === a.id.id) return true;
    }
  }
  return false;
}

export function requirePerm(acl: readonly Acl[], perm: number, authIds: readonly Id[]): void {
  if (!checkPerm(acl, perm, authIds)) throw new ZkError(ErrorCode.NO_AUTH);
}

/** What getACL shows a caller without ADMIN: digest hashes hidden. */
export function maskAclForNonAdmin(acl: readonly Acl[]): Acl[] {
  return acl.map((a) =>
    a.id.scheme === 'digest' ? { perms: a.perms, id: { scheme: 'digest', id: `${a.id.id.split(':')[0] ?? ''}:x` } } : a,
  );
}

export const ALL_PERMS = Perm.all;
