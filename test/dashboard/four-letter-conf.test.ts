/** `conf`'s membership as the ensemble probe reads it (dashboard/ensemble/four-letter-parse.ts). */
import { describe, expect, it } from 'vitest';
import { parseConf } from '../../dashboard/ensemble/four-letter-parse.ts';

describe('parseConf', () => {
  it("reads its serverId and each server's id and client address, the server's host for 0.0.0.0", () => {
    // As QuorumZooKeeperServer.dumpConf ends `conf` (Apache ZooKeeper 3.8 and Drover alike).
    const text = [
      'clientPort=2181',
      'dataDir=/var/lib/zookeeper/version-2',
      'tickTime=2000',
      'serverId=2',
      'membership: ',
      'server.1=127.0.0.1:2191:2191:participant;0.0.0.0:2181',
      'server.2=10.0.0.2:2888:3888:participant;10.0.0.20:2182',
      'server.3=zk3.example:2888:3888:observer;2183',
      'server.4=[::1]:2888:3888:participant;[::1]:2184',
      'server.5=10.0.0.5:2888:3888',
      'version=100000000',
      '',
    ].join('\n');
    expect(parseConf(text)).toEqual({
      serverId: 2,
      members: [
        { id: 1, host: '127.0.0.1', port: 2181 },
        { id: 2, host: '10.0.0.20', port: 2182 },
        { id: 3, host: 'zk3.example', port: 2183 },
        { id: 4, host: '::1', port: 2184 },
      ],
    });
  });

  it('finds no members without a membership section (a standalone server) or in server lines before it, and no id when the word was refused', () => {
    expect(parseConf('clientPort=2181\nserverId=0\ndataDir=/d\n')).toEqual({ serverId: 0, members: [] });
    expect(parseConf('server.1=127.0.0.1:1:2:participant;127.0.0.1:2181\nmembership: \n').members).toEqual([]);
    expect(parseConf('conf is not executed because it is not in the whitelist.\n')).toEqual({ members: [] });
  });
});
