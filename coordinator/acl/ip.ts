/** The ip scheme: IPv4 addresses with an optional /bits prefix length. */

function parseIpv4(s: string): number[] | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    out.push(n);
  }
  return out;
}

function normalizePeer(peer: string): string {
  return peer.startsWith('::ffff:') && peer.includes('.') ? peer.slice(7) : peer;
}

export function isValidIpAcl(id: string): boolean {
  const [addr, bits, extra] = id.split('/');
  if (extra !== undefined || addr === undefined || parseIpv4(addr) === null) return false;
  if (bits === undefined) return true;
  if (!/^\d+$/.test(bits)) return false;
  return Number(bits) <= 32;
}

/** Prefix match of the peer address; an IPv6 peer never matches. */
export function ipMatches(aclId: string, peerIp: string): boolean {
  const [addr, bitsText] = aclId.split('/');
  const a = addr === undefined ? null : parseIpv4(addr);
  const p = parseIpv4(normalizePeer(peerIp));
  if (!a || !p) return false;
  let bits = bitsText === undefined ? 32 : Number(bitsText);
  if (!Number.isInteger(bits) || bits < 0 || bits > 32) return false;
  for (let i = 0; i < 4 && bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if (((a[i] as number) & mask) !== ((p[i] as number) & mask)) return false;
  }
  return true;
}
