/**
 * Partitions between in-process ensemble members: every directed quorum link
 * (member a's connection to member b) goes through its own loopback proxy,
 * by giving each member a server list in which the other members' quorum
 * ports are those proxies (each member reads only its own config, so the
 * ensemble needs nothing else). `cut(a, b)` resets both of a and b's links to
 * each other and refuses new ones until `heal()`, as a partition that TCP
 * notices does; links between other members carry on.
 */
import type { Member } from './ensemble-members.ts';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.ts';

export interface QuorumLinks {
  /** Cuts the links between members `a` and `b`, both ways. */
  cut(a: number, b: number): void;
  /** Lets every cut link reconnect. */
  heal(): void;
  close(): Promise<void>;
}

/** Call before the members start: rewrites their configs to dial each other through proxies. */
export async function proxyQuorumLinks(members: Member[]): Promise<QuorumLinks> {
  const proxies = new Map<string, TcpProxy>();
  const key = (from: number, to: number): string => `${from}>${to}`;
  for (const from of members) {
    const servers = [];
    for (const s of from.config.servers) {
      if (s.id === from.id) {
        servers.push(s);
        continue;
      }
      const proxy = await startTcpProxy({ host: s.host, port: s.quorumPort });
      proxies.set(key(from.id, s.id), proxy);
      const port = Number(proxy.address.split(':')[1]);
      servers.push({ ...s, host: '127.0.0.1', quorumPort: port, electionPort: port });
    }
    from.config = { ...from.config, servers };
  }
  const link = (from: number, to: number): TcpProxy => {
    const p = proxies.get(key(from, to));
    if (!p) throw new Error(`no quorum link ${from} -> ${to}`);
    return p;
  };
  return {
    cut(a, b) {
      link(a, b).cut();
      link(b, a).cut();
    },
    heal() {
      for (const p of proxies.values()) p.restore();
    },
    async close() {
      await Promise.all([...proxies.values()].map((p) => p.close()));
    },
  };
}
