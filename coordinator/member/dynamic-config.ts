/**
 * Where a member's ensemble configuration lives across restarts (ADR 0011).
 * zoo.cfg's `server.N` lines (or its `dynamicConfigFile`) are where an
 * ensemble starts; after a committed reconfig every member writes the new
 * configuration to `dataDir/zoo.cfg.dynamic.<hex version>` (ZooKeeper writes
 * the same file next to zoo.cfg and rewrites zoo.cfg to point at it; Drover
 * leaves the operator's zoo.cfg alone). A member starts from the newest of:
 * zoo.cfg's, that file, and the `/zookeeper/config` of the snapshot it
 * recovers.
 */
import { closeSync, fsyncSync, openSync, readdirSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError, type MemberConfig } from '../config/zoo-cfg.ts';
import { parseEnsembleConfig, type EnsembleConfig } from '../config/ensemble-config.ts';

const PREFIX = 'zoo.cfg.dynamic.';

/** zoo.cfg's configuration: its `dynamicConfigFile` when it names one, else its server lines (version 0). */
export async function staticEnsembleConfig(config: MemberConfig): Promise<EnsembleConfig> {
  if (!config.dynamicConfigFile) return { version: 0, servers: [...config.servers].sort((a, b) => a.id - b.id) };
  let text: string;
  try {
    text = await readFile(config.dynamicConfigFile, 'utf8');
  } catch (err) {
    throw new ConfigError(`dynamicConfigFile ${config.dynamicConfigFile}: ${(err as Error).message}`);
  }
  const parsed = parseEnsembleConfig(text);
  // ZooKeeper takes the version from the file's name (zoo.cfg.dynamic.<hex>) when the file has none.
  const fromName = /\.dynamic\.([0-9a-f]+)$/i.exec(config.dynamicConfigFile)?.[1];
  const version = parsed.version || (fromName ? parseInt(fromName, 16) : 0);
  const servers = parsed.servers.length > 0 ? parsed.servers : config.servers;
  return { version, servers };
}

/** The newest configuration this member wrote after a reconfig, or null. */
export async function persistedEnsembleConfig(dataDir: string): Promise<EnsembleConfig | null> {
  const names = (await readdir(dataDir)).filter((n) => n.startsWith(PREFIX) && /^[0-9a-f]+$/.test(n.slice(PREFIX.length)));
  names.sort((a, b) => parseInt(b.slice(PREFIX.length), 16) - parseInt(a.slice(PREFIX.length), 16));
  const newest = names[0];
  if (!newest) return null;
  return parseEnsembleConfig(await readFile(path.join(dataDir, newest), 'utf8'));
}

/**
 * Writes a committed configuration durably (a temporary file, fsynced, then
 * renamed) and drops the older ones. Synchronous: it runs inside the Ready
 * loop, once per reconfig, and must be on disk before the member goes on.
 */
export function persistEnsembleConfig(dataDir: string, text: string, version: number): void {
  const name = PREFIX + version.toString(16);
  const tmp = path.join(dataDir, `${name}.tmp`);
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, text.endsWith('\n') ? text : text + '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path.join(dataDir, name));
  for (const n of readdirSync(dataDir)) {
    if (n.startsWith(PREFIX) && n !== name) unlinkSync(path.join(dataDir, n));
  }
}
