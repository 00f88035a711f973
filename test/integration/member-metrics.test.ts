/**
 * Each member's Prometheus endpoint (zoo.cfg metricsProvider.*, as
 * ZooKeeper 3.6+): its own port, `mntr`'s values under ZooKeeper's
 * Prometheus names, read by a strict parser; standalone, in an ensemble
 * (leader, follower, and a member left electing), and from a real zoo.cfg
 * through `drover server`. The endpoint stops with the member.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { defaultConfig, startStandalone, type RunningMember } from '../../coordinator/index.ts';
import { PROMETHEUS_METRICS_PROVIDER } from '../../coordinator/config/zoo-cfg.ts';
import { silentLogger } from '../../coordinator/base/log.ts';
import { fourLetter } from '../helpers/four-letter.ts';
import { connect, zookeeper } from '../helpers/zk-promise.ts';
import { freePorts, spawnDrover } from '../helpers/drover-target.ts';
import { configureMembers, removeMembers, settle, startMember, stopMember, waitForModes, type Member } from '../helpers/ensemble-members.ts';
import { parsePrometheusText, sampleValue, type MetricFamily } from '../helpers/prometheus-text.ts';
import { until } from '../helpers/backends.ts';

/** mntr values that move on their own between two reads (a ping in flight, the process's files). */
const MOVING = new Set(['zk_avg_latency', 'zk_max_latency', 'zk_min_latency', 'zk_packets_received', 'zk_packets_sent', 'zk_outstanding_requests', 'zk_open_file_descriptor_count']);

async function scrape(port: number, urlPath = '/metrics'): Promise<Map<string, MetricFamily>> {
  const res = await fetch(`http://127.0.0.1:${port}${urlPath}`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  return parsePrometheusText(await res.text());
}

function mntrRows(text: string): [string, string][] {
  return text
    .trimEnd()
    .split('\n')
    .map((line) => line.split('\t') as [string, string]);
}

/** Every mntr value is served: numbers as gauges of the same value, text as a label. */
async function expectMatchesMntr(clientPort: number, metricsPort: number): Promise<Map<string, MetricFamily>> {
  const mntr = mntrRows(await fourLetter('127.0.0.1', clientPort, 'mntr'));
  const metrics = await scrape(metricsPort);
  expect(mntr.length).toBeGreaterThan(10);
  for (const [key, value] of mntr) {
    const name = key.slice('zk_'.length);
    if (key === 'zk_version') {
      const [version, built] = value.split(', built on ');
      expect(sampleValue(metrics, 'zk_version_info', { version: version as string, built_on: built as string })).toBe(1);
    } else if (!/^-?\d+(\.\d+)?$/.test(value)) {
      expect(sampleValue(metrics, name, { state: value }), key).toBe(1);
    } else {
      expect(metrics.get(name)?.type, key).toBe('gauge');
      if (!MOVING.has(key)) expect(sampleValue(metrics, name), key).toBe(Number(value));
    }
  }
  // Nothing but mntr's rows (one family each).
  expect(metrics.size).toBe(mntr.length);
  return metrics;
}

async function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

describe('a standalone member with the Prometheus metrics provider', () => {
  let member: RunningMember | null = null;
  let dataDir = '';
  afterAll(async () => {
    await member?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it("serves mntr's values on its own port, and stops with the member", async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'drover-metrics-'));
    member = await startStandalone(
      defaultConfig({ dataDir, clientPort: 0, clientPortAddress: '127.0.0.1', tickTime: 500, fourLetterWhitelist: '*', metricsProvider: { httpHost: '127.0.0.1', httpPort: 0 } }),
      silentLogger(),
    );
    const port = (member.metrics as { port: number }).port;
    expect(port).toBeGreaterThan(0);
    expect(port).not.toBe(member.port);

    // Something to count: nodes, an ephemeral, a watch, a session.
    const c = await connect(`127.0.0.1:${member.port}`);
    await c.create('/a', Buffer.from('hello'));
    await c.create('/a/e', Buffer.from('x'), zookeeper.CreateMode.EPHEMERAL);
    await c.get('/a', () => {});
    const metrics = await expectMatchesMntr(member.port, port);
    expect(sampleValue(metrics, 'server_state', { state: 'standalone' })).toBe(1);
    expect(sampleValue(metrics, 'ephemerals_count')).toBe(1);
    expect(sampleValue(metrics, 'watch_count')).toBe(1);
    expect(sampleValue(metrics, 'num_alive_connections')).toBe(1);
    c.close();

    // `/` too, as ZooKeeper's servlet context; nothing else; HEAD has no body.
    expect((await scrape(port, '/')).has('znode_count')).toBe(true);
    expect((await fetch(`http://127.0.0.1:${port}/admin`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${port}/metrics`, { method: 'POST' })).status).toBe(405);
    const head = await fetch(`http://127.0.0.1:${port}/metrics`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');

    await member.stop();
    member = null;
    expect(await refused(port)).toBe(true);
  });
});

describe('ensemble members with the Prometheus metrics provider', () => {
  let members: Member[] = [];
  afterAll(() => removeMembers(members));

  it('each serves its own mntr: the leader its learners; a member without quorum its election state', async () => {
    members = await configureMembers(3);
    for (const m of members) m.config = { ...m.config, metricsProvider: { httpHost: '127.0.0.1', httpPort: 0 } };
    await Promise.all(members.map(startMember));
    const leader = await settle(members);
    const ports = members.map((m) => (m.running?.metrics as { port: number }).port);
    expect(new Set(ports).size).toBe(3);

    const c = await connect(`127.0.0.1:${leader.config.clientPort}`);
    await c.create('/m', Buffer.from('1'));
    // Followers apply the commit a moment after the leader answers: compare once all have it.
    const nodes = async (m: Member) => /^zk_znode_count\t(\d+)$/m.exec(await fourLetter('127.0.0.1', m.config.clientPort, 'mntr'))?.[1];
    await until('every member to hold /m', async () => new Set(await Promise.all(members.map(nodes))).size === 1);
    for (const [i, m] of members.entries()) {
      const metrics = await expectMatchesMntr(m.config.clientPort, ports[i] as number);
      if (m === leader) {
        expect(sampleValue(metrics, 'server_state', { state: 'leader' })).toBe(1);
        expect(sampleValue(metrics, 'synced_followers')).toBe(2);
        expect(sampleValue(metrics, 'learners')).toBe(2);
      } else {
        expect(sampleValue(metrics, 'server_state', { state: 'follower' })).toBe(1);
        expect(sampleValue(metrics, 'peer_state', { state: 'following - broadcast' })).toBe(1);
      }
    }
    c.close();

    // Two members stop: the last cannot lead, and says so (its endpoint stays up; the others' go).
    const last = members.find((m) => m !== leader) as Member;
    for (const m of members) if (m !== last) await stopMember(m);
    await waitForModes([last], (modes) => modes[0] === 'down', 'the last member to leave service');
    const lastPort = ports[members.indexOf(last)] as number;
    const electing = await scrape(lastPort);
    expect(sampleValue(electing, 'server_state', { state: 'leaderelection' })).toBe(1);
    expect(electing.has('zk_version_info')).toBe(true);
    expect(electing.has('znode_count')).toBe(false);
    for (const [i, m] of members.entries()) if (m !== last) expect(await refused(ports[i] as number)).toBe(true);
  });
});

describe('drover server --config with metricsProvider in zoo.cfg', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  /** `ports`: the ones the lines name, which the client port must not be. */
  async function zooCfg(lines: string[], ports: number[] = []): Promise<{ file: string; clientPort: number }> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'drover-metrics-cfg-'));
    dirs.push(dir);
    const [clientPort] = (await freePorts(1, ports)) as [number];
    const file = path.join(dir, 'zoo.cfg');
    await writeFile(file, [`dataDir=${dir}`, `clientPort=${clientPort}`, 'clientPortAddress=127.0.0.1', '4lw.commands.whitelist=mntr,srvr', ...lines, ''].join('\n'));
    return { file, clientPort };
  }

  it('serves the endpoint zoo.cfg names', async () => {
    const [metricsPort] = (await freePorts(1)) as [number];
    const { file, clientPort } = await zooCfg([`metricsProvider.className=${PROMETHEUS_METRICS_PROVIDER}`, 'metricsProvider.httpHost=127.0.0.1', `metricsProvider.httpPort=${metricsPort}`], [metricsPort]);
    const server = await spawnDrover(['--config', file], clientPort);
    try {
      await expectMatchesMntr(clientPort, metricsPort);
    } finally {
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
    }
  });

  it('refuses to start when the metrics port is taken, naming the key', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const taken = (holder.address() as net.AddressInfo).port;
    try {
      const { file, clientPort } = await zooCfg([`metricsProvider.className=${PROMETHEUS_METRICS_PROVIDER}`, 'metricsProvider.httpHost=127.0.0.1', `metricsProvider.httpPort=${taken}`]);
      await expect(spawnDrover(['--config', file], clientPort)).rejects.toThrow(/exited \(1\)[\s\S]*metricsProvider\.httpHost\/httpPort: cannot listen on 127\.0\.0\.1:\d+/);
    } finally {
      holder.close();
    }
  });
});
