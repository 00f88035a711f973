import { describe, it, expect } from 'vitest';
import { parseZooCfg, ConfigError, DEFAULT_SNAP_SIZE_LIMIT_KB } from '../../../coordinator/config/zoo-cfg.ts';

const cfg = (extra: string): string => `dataDir=/tmp/zk\n${extra}\n`;

describe('zoo.cfg snapshot and retention keys', () => {
  it('defaults: a 64 MiB size trigger beside snapCount, three snapshots kept', () => {
    const c = parseZooCfg(cfg(''));
    expect(c.snapCount).toBe(100_000);
    expect(c.snapSizeLimitInKb).toBe(DEFAULT_SNAP_SIZE_LIMIT_KB);
    expect(DEFAULT_SNAP_SIZE_LIMIT_KB).toBe(64 * 1024);
    expect(c.snapRetainCount).toBe(3);
  });

  it('reads snapSizeLimitInKb with or without the zookeeper. prefix; 0 or less turns the size trigger off', () => {
    expect(parseZooCfg(cfg('snapSizeLimitInKb=65536')).snapSizeLimitInKb).toBe(65536);
    expect(parseZooCfg(cfg('zookeeper.snapSizeLimitInKb=128')).snapSizeLimitInKb).toBe(128);
    expect(parseZooCfg(cfg('snapSizeLimitInKb=0')).snapSizeLimitInKb).toBe(0);
    expect(parseZooCfg(cfg('snapSizeLimitInKb=-1')).snapSizeLimitInKb).toBe(0);
    expect(() => parseZooCfg(cfg('snapSizeLimitInKb=4GB'))).toThrow(ConfigError);
  });

  it('reads autopurge.snapRetainCount and raises a count below 3 to 3, as ZooKeeper does', () => {
    expect(parseZooCfg(cfg('autopurge.snapRetainCount=5')).snapRetainCount).toBe(5);
    expect(parseZooCfg(cfg('autopurge.snapRetainCount=1')).snapRetainCount).toBe(3);
    const c = parseZooCfg(cfg('autopurge.snapRetainCount=4\nautopurge.purgeInterval=24'));
    expect(c.snapRetainCount).toBe(4);
    // Drover purges after every snapshot; the interval is not read, and says so.
    expect(c.unknownKeys).toEqual(['autopurge.purgeInterval']);
  });
});
