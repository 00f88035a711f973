/** `conf`'s membership as the ensemble probe reads it (dashboard/ensemble/four-letter-parse.ts). */
import { describe, expect, it } from 'vitest';
import { parseConfMembers } from '../../dashboard/ensemble/four-letter-parse.ts';

describe('parseConfMembers', () => {
  it("reads each server's client address from the membership section, the server's host for 0.0.0.0", () => {
    // As QuorumZooKeeperServer.dumpConf ends `conf` (Apache ZooKeeper 3.8 and Drover alike).
    const text = [
      'clientPort=2181',
      'dataDir=/var/lib/zookeeper/version-2',
      'tickTime=2000',
      'membership: ',
      'server.1=127.0.0.1:2191:2191:participant;0.0.0.0:2181',
      'server.2=10.0.0.2:2888:3888:participant;10.0.0.20:2182',
      'server.3=zk3.example:2888:3888:observer;2183',
      'server.4=[::1]:2888:3888:participant;[::1]:2184',
      'server.5=10.0.0.5:2888:3888',
      'version=100000000',
      '',
    ].join('\n');
    expect(parseConfMembers(text)).toEqual([
      { host: '127.0.0.1', port: 2181 },
      { host: '10.0.0.20', port: 2182 },
      { host: 'zk3.example', port: 2183 },
      { host: '::1', port: 2184 },
    ]);
  });

  it('finds nothing without a membership section (a standalone server) or server lines before it', () => {
    expect(parseConfMembers('clientPort=2181\ndataDir=/d\n')).toEqual([]);
    expect(parseConfMembers('server.1=127.0.0.1:1:2:participant;127.0.0.1:2181\nmembership: \n')).toEqual([]);
  });
});
