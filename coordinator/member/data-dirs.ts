/** Opening a member's data: the version-2 dirs, the lock, and what recovery finds there. */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { MemberConfig } from '../config/zoo-cfg.ts';
import { acquireDirLock } from '../storage/dir-lock.ts';
import { recover, type Recovered } from '../storage/recovery.ts';

export interface OpenedData {
  snapDir: string;
  logDir: string;
  lock: { release(): Promise<void> };
  recovered: Recovered;
}

export async function openDataDirs(config: MemberConfig, storageLog: Logger): Promise<OpenedData> {
  const snapDir = path.join(config.dataDir, 'version-2');
  const logDir = path.join(config.dataLogDir, 'version-2');
  await mkdir(snapDir, { recursive: true });
  await mkdir(logDir, { recursive: true });
  const lock = await acquireDirLock(config.dataDir);
  try {
    const recovered = await recover(snapDir === logDir ? snapDir : { snapDir, logDir }, storageLog);
    return { snapDir, logDir, lock, recovered };
  } catch (err) {
    await lock.release();
    throw err;
  }
}
