/**
 * A ZooKeeper connect string (`h1:2181,h2:2181/chroot`) split into the
 * members it names. Pure. The ensemble view probes each of them.
 */
import { DroverError } from '../../shared/errors.ts';

export interface MemberAddress {
  host: string;
  port: number;
}

export function parseConnectString(connect: string): MemberAddress[] {
  const slash = connect.indexOf('/');
  const hosts = slash === -1 ? connect : connect.slice(0, slash);
  const members: MemberAddress[] = [];
  for (const part of hosts.split(',')) {
    const item = part.trim();
    if (item === '') continue;
    // [v6]:port, host:port, or a bare host (ZooKeeper's default port).
    const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(item) ?? /^([^:]+)(?::(\d+))?$/.exec(item);
    if (!m?.[1]) throw new DroverError('DROVER_CONFIG', `cannot read '${item}' in the connect string '${connect}' (expected host:port[,host:port...])`);
    const port = m[2] === undefined ? 2181 : Number(m[2]);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new DroverError('DROVER_CONFIG', `bad port in '${item}' of the connect string '${connect}'`);
    members.push({ host: m[1], port });
  }
  if (members.length === 0) throw new DroverError('DROVER_CONFIG', `the connect string '${connect}' names no server`);
  return members;
}
