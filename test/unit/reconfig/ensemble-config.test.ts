/** The configuration text and reconfig's next configuration (ADR 0011), as ZooKeeper 3.8 writes and checks them. */
import { describe, it, expect } from 'vitest';
import { formatEnsembleConfig, nextServers, parseEnsembleConfig } from '../../../coordinator/config/ensemble-config.ts';
import { prepReconfig, type EnsembleView } from '../../../coordinator/txn/prep-reconfig.ts';
import { DataTree } from '../../../coordinator/tree/data-tree.ts';
import { ZkError } from '../../../coordinator/protocol/error-codes.ts';
import { parseZooCfg, type ServerEntry } from '../../../coordinator/config/zoo-cfg.ts';
import type { ReconfigRequest } from '../../../coordinator/protocol/records.ts';

const three: ServerEntry[] = [1, 2, 3].map((id) => ({ id, host: '127.0.0.1', quorumPort: 2880 + id, electionPort: 3880 + id, role: 'participant', clientPort: 2180 + id }));

function code(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof ZkError) return err.code;
    throw err;
  }
  return undefined;
}

describe('zoo.cfg', () => {
  it('reads reconfigEnabled (false unless set, as ZooKeeper) and dynamicConfigFile', () => {
    expect(parseZooCfg('dataDir=/d\n').reconfigEnabled).toBe(false);
    const c = parseZooCfg('dataDir=/d\nreconfigEnabled=true\ndynamicConfigFile=/etc/zk/zoo.cfg.dynamic.100000000\n');
    expect(c.reconfigEnabled).toBe(true);
    expect(c.dynamicConfigFile).toBe('/etc/zk/zoo.cfg.dynamic.100000000');
    expect(c.unknownKeys).toEqual([]);
  });
});

describe('the configuration text', () => {
  it('is QuorumMaj.toString: server lines in id order with role and client address, then the hex version', () => {
    const text = formatEnsembleConfig({ version: 0x100000003, servers: [three[2] as ServerEntry, { ...(three[0] as ServerEntry), role: 'observer', clientHost: '10.0.0.1' }] });
    expect(text).toBe('server.1=127.0.0.1:2881:3881:observer;10.0.0.1:2181\nserver.3=127.0.0.1:2883:3883:participant;0.0.0.0:2183\nversion=100000003');
    expect(parseEnsembleConfig(text).version).toBe(0x100000003);
    expect(formatEnsembleConfig(parseEnsembleConfig(text))).toBe(text);
  });

  it('refuses keys a dynamic config may not hold', () => {
    expect(() => parseEnsembleConfig('tickTime=2000')).toThrow(/unrecognised/);
  });
});

describe("reconfig's next configuration", () => {
  it('incremental: joiners added or replaced, leavers removed', () => {
    const next = nextServers(three, { joiningServers: 'server.4=127.0.0.1:2884:3884:participant;2184, server.2=127.0.0.1:2882:3882:observer;2182', leavingServers: '3', newMembers: null });
    expect(next.map((s) => `${s.id}:${s.role}`)).toEqual(['1:participant', '2:observer', '4:participant']);
  });

  it('non-incremental: the whole membership, comma or newline separated', () => {
    const next = nextServers(three, { joiningServers: null, leavingServers: null, newMembers: 'server.1=127.0.0.1:2881:3881;2181,server.5=127.0.0.1:2885:3885:participant;2185\nserver.6=127.0.0.1:2886:3886;2186' });
    expect(next.map((s) => s.id)).toEqual([1, 5, 6]);
  });

  it('BadArguments for malformed specs, a joiner without a client port, a clash, or fewer than two voters', () => {
    const ask = (a: Partial<{ joiningServers: string; leavingServers: string; newMembers: string }>) => () => nextServers(three, { joiningServers: null, leavingServers: null, newMembers: null, ...a });
    expect(code(ask({ joiningServers: 'server.4' }))).toBe(-8);
    expect(code(ask({ joiningServers: 'server.4=127.0.0.1:2884' }))).toBe(-8);
    expect(code(ask({ joiningServers: 'server.4=127.0.0.1:2884:3884:participant' }))).toBe(-8);
    expect(code(ask({ joiningServers: 'server.4=127.0.0.1:2881:3884:participant;2184' }))).toBe(-8);
    // A server id that is not a number fails as ZooKeeper's does, with MarshallingError.
    expect(code(ask({ leavingServers: 'two' }))).toBe(-5);
    expect(code(ask({ joiningServers: 'server.x=127.0.0.1:2884:3884:participant;2184' }))).toBe(-5);
    expect(code(ask({ leavingServers: '1,2' }))).toBe(-8);
    expect(code(ask({ newMembers: 'server.1=127.0.0.1:2881:3881;2181' }))).toBe(-8);
    expect(code(ask({ newMembers: 'tickTime=1' }))).toBe(-8);
    // A non-null newMembers is the non-incremental form even when empty: no voters at all.
    expect(code(ask({ newMembers: '', leavingServers: '3' }))).toBe(-8);
  });
});

describe('prepReconfig', () => {
  const view = (o: Partial<{ inProgress: boolean; synced: boolean }> = {}): EnsembleView => ({
    lastSeen: () => ({ version: 0x100000000, servers: three }),
    inProgress: () => o.inProgress ?? false,
    isQuorumSynced: () => o.synced ?? true,
  });
  const superIds = [{ scheme: 'super', id: '' }];
  const req = { op: 16 as const, joiningServers: null, leavingServers: '3', newMembers: null, curConfigId: -1 };

  it("checks in ZooKeeper's order: in progress, version, arguments, quorum, then the ACL", () => {
    const tree = new DataTree();
    const err = (r: ReconfigRequest, v: EnsembleView, authIds: { scheme: string; id: string }[] = superIds) => {
      const t = prepReconfig(r, { tree, authIds, ensemble: v, zxid: 0x100000005 });
      return t.type === 'error' ? t.err : 0;
    };
    expect(err({ ...req, curConfigId: 7 }, view({ inProgress: true }), [])).toBe(-14);
    expect(err({ ...req, curConfigId: 7, leavingServers: 'x' }, view(), [])).toBe(-103);
    expect(err({ ...req, leavingServers: '1,2' }, view({ synced: false }), [])).toBe(-8);
    expect(err(req, view({ synced: false }), [])).toBe(-13);
    expect(err(req, view(), [])).toBe(-102);
    expect(err({ ...req, curConfigId: 0x100000000 }, view())).toBe(0);
  });

  it('sets /zookeeper/config to the new configuration, versioned by its own zxid, version -1', () => {
    const tree = new DataTree();
    const t = prepReconfig(req, { tree, authIds: superIds, ensemble: view(), zxid: 0x100000005 });
    if (t.type !== 'reconfig') throw new Error(`expected a reconfig txn, got ${t.type}`);
    const r = tree.apply({ sessionId: 1n, cxid: 1, zxid: 0x100000005, time: 1 }, t);
    expect(r.events).toEqual([expect.objectContaining({ type: 3, path: '/zookeeper/config' })]);
    const node = tree.get('/zookeeper/config');
    expect(node?.data?.toString()).toBe('server.1=127.0.0.1:2881:3881:participant;0.0.0.0:2181\nserver.2=127.0.0.1:2882:3882:participant;0.0.0.0:2182\nversion=100000005');
    expect(r.result).toEqual({ kind: 'stat', stat: expect.objectContaining({ version: -1, mzxid: 0x100000005 }) });
  });
});
