/** zoo.cfg's metricsProvider.* keys, read as ZooKeeper 3.6+ reads them. */
import { describe, it, expect } from 'vitest';
import { parseZooCfg, ConfigError, PROMETHEUS_METRICS_PROVIDER } from '../../../coordinator/config/zoo-cfg.ts';

describe('zoo.cfg metricsProvider', () => {
  it('serves nothing unless the Prometheus provider is named', () => {
    expect(parseZooCfg('dataDir=/x').metricsProvider).toBeNull();
    const byDefault = parseZooCfg('dataDir=/x\nmetricsProvider.className=org.apache.zookeeper.metrics.impl.DefaultMetricsProvider\nmetricsProvider.httpPort=7001');
    expect(byDefault.metricsProvider).toBeNull();
    // The default provider ignores the http keys: they are reported like unknown keys.
    expect(byDefault.unknownKeys).toEqual(['metricsProvider.httpPort']);
  });

  it("takes ZooKeeper's defaults: port 7000 on every address", () => {
    const c = parseZooCfg(`dataDir=/x\nmetricsProvider.className=${PROMETHEUS_METRICS_PROVIDER}\nmetricsProvider.exportJvmInfo=true`);
    expect(c.metricsProvider).toEqual({ httpHost: '0.0.0.0', httpPort: 7000 });
    expect(c.unknownKeys).toEqual(['metricsProvider.exportJvmInfo']);
  });

  it('reads httpHost and httpPort', () => {
    const c = parseZooCfg(`dataDir=/x\nmetricsProvider.httpPort=0\nmetricsProvider.httpHost=127.0.0.1\nmetricsProvider.className=${PROMETHEUS_METRICS_PROVIDER}`);
    expect(c.metricsProvider).toEqual({ httpHost: '127.0.0.1', httpPort: 0 });
    expect(c.unknownKeys).toEqual([]);
  });

  it('refuses a provider Drover does not have, and a bad port, with the line', () => {
    expect(() => parseZooCfg('dataDir=/x\nmetricsProvider.className=com.example.MyProvider')).toThrow(ConfigError);
    expect(() => parseZooCfg('dataDir=/x\nmetricsProvider.className=com.example.MyProvider')).toThrow(/line 2: metricsProvider.className=com.example.MyProvider/);
    expect(() => parseZooCfg(`dataDir=/x\nmetricsProvider.className=${PROMETHEUS_METRICS_PROVIDER}\nmetricsProvider.httpPort=70000`)).toThrow(/line 3: metricsProvider.httpPort=70000 is not a port/);
    expect(() => parseZooCfg('dataDir=/x\nmetricsProvider.httpPort=http')).toThrow(/is not an integer/);
  });
});
