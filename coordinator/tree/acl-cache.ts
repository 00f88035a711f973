/** Interns ACL lists: a million nodes with the same ACL share one array. */
import type { Acl } from '../protocol/records.ts';

export class AclCache {
  private readonly byKey = new Map<string, Acl[]>();

  intern(acl: Acl[]): Acl[] {
    let key = '';
    for (const a of acl) key += `${a.perms}\u0000${a.id.scheme}\u0000${a.id.id}\u0001`;
    const hit = this.byKey.get(key);
    if (hit) return hit;
    const frozen = acl.map((a) => ({ perms: a.perms, id: { scheme: a.id.scheme, id: a.id.id } }));
    this.byKey.set(key, frozen);
    return frozen;
  }
}
