/** Where a member keeps its configuration across restarts (ADR 0011): zoo.cfg, its dynamicConfigFile, dataDir/zoo.cfg.dynamic.<version>. */
import { describe, it, expect, afterEach } from 'vitest';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { defaultConfig } from '../../../coordinator/config/zoo-cfg.ts';
import { persistEnsembleConfig, persistedEnsembleConfig, staticEnsembleConfig } from '../../../coordinator/member/dynamic-config.ts';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function tmp(): Promise<string> {
  const d = await mkdtemp(path.join(os.tmpdir(), 'drover-dyn-'));
  dirs.push(d);
  return d;
}

describe('dynamic configuration files', () => {
  it("zoo.cfg's server lines are version 0; a dynamicConfigFile gives its servers and version (from the name when it has none)", async () => {
    const d = await tmp();
    const servers = [{ id: 1, host: 'a', quorumPort: 1, electionPort: 2, role: 'participant' as const }];
    expect(await staticEnsembleConfig(defaultConfig({ dataDir: d, servers }))).toEqual({ version: 0, servers });
    const file = path.join(d, 'zoo.cfg.dynamic.100000000');
    await writeFile(file, 'server.1=h1:2888:3888:participant;2181\nserver.2=h2:2888:3888:observer;2181\n');
    const c = await staticEnsembleConfig(defaultConfig({ dataDir: d, dynamicConfigFile: file }));
    expect(c.version).toBe(0x100000000);
    expect(c.servers.map((s) => `${s.id}:${s.role}`)).toEqual(['1:participant', '2:observer']);
  });

  it('writes the newest configuration durably and keeps only it', async () => {
    const d = await tmp();
    expect(await persistedEnsembleConfig(d)).toBeNull();
    persistEnsembleConfig(d, 'server.1=h1:1:2:participant;0.0.0.0:3\nversion=100000003', 0x100000003);
    persistEnsembleConfig(d, 'server.2=h2:1:2:participant;0.0.0.0:3\nversion=200000001', 0x200000001);
    expect(await readdir(d)).toEqual(['zoo.cfg.dynamic.200000001']);
    const c = await persistedEnsembleConfig(d);
    expect(c?.version).toBe(0x200000001);
    expect(c?.servers.map((s) => s.id)).toEqual([2]);
  });
});
