import { describe, it, expect } from 'vitest';
import { parseZooCfg, ConfigError } from '../../../coordinator/config/zoo-cfg.ts';

describe('zoo.cfg', () => {
  it('reads a real ensemble config with ZooKeeper defaults and system-property keys', () => {
    const c = parseZooCfg(`
# sample
tickTime=2000
initLimit=10
syncLimit=5
dataDir=/var/lib/zookeeper
clientPort=2181
4lw.commands.whitelist=srvr, ruok ,mntr
server.1=zk1:2888:3888
server.2=zk2:2888:3888:observer
server.3=zk3:2888:3888;2182
server.4=zk4:2888:3888:participant;0.0.0.0:2183
DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=
zookeeper.extendedTypesEnabled=true
autopurge.purgeInterval=1
`);
    expect(c.tickTime).toBe(2000);
    expect(c.minSessionTimeout).toBe(4000);
    expect(c.maxSessionTimeout).toBe(40_000);
    expect(c.dataLogDir).toBe('/var/lib/zookeeper');
    expect(c.fourLetterWhitelist).toEqual(new Set(['srvr', 'ruok', 'mntr']));
    expect(c.servers).toEqual([
      { id: 1, host: 'zk1', quorumPort: 2888, electionPort: 3888, role: 'participant' },
      { id: 2, host: 'zk2', quorumPort: 2888, electionPort: 3888, role: 'observer' },
      { id: 3, host: 'zk3', quorumPort: 2888, electionPort: 3888, role: 'participant', clientPort: 2182 },
      { id: 4, host: 'zk4', quorumPort: 2888, electionPort: 3888, role: 'participant', clientHost: '0.0.0.0', clientPort: 2183 },
    ]);
    expect(c.superDigest).toBe('super:D/InIHSb7yEEbrWz8b9l71RjZJU=');
    expect(c.extendedTypesEnabled).toBe(true);
    expect(c.unknownKeys).toEqual(['autopurge.purgeInterval']);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('rejects bad values with the key and line', () => {
    expect(() => parseZooCfg('dataDir=/x\ntickTime=fast')).toThrow(/line 2: tickTime=fast/);
    expect(() => parseZooCfg('dataDir=/x\nserver.1=host:2888')).toThrow(ConfigError);
    expect(() => parseZooCfg('clientPort=1')).toThrow(/dataDir is required/);
    expect(() => parseZooCfg('dataDir=/x\nminSessionTimeout=9000\nmaxSessionTimeout=100')).toThrow(ConfigError);
  });
});
