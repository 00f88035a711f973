/**
 * ZAB's acceptedEpoch and currentEpoch, each in its own small file under
 * version-2/, as ZooKeeper keeps them. Written to a temp name, fsynced and
 * renamed, so a crash leaves either the old value or the new one.
 */
import { open, readFile, rename } from 'node:fs/promises';
import path from 'node:path';
import { fsyncDir } from './fsync-dir.ts';
import { StorageError } from './storage-error.ts';

export type EpochName = 'currentEpoch' | 'acceptedEpoch';

export async function readEpochFile(dir: string, name: EpochName): Promise<number | null> {
  let text: string;
  try {
    text = await readFile(path.join(dir, name), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const value = Number(text.trim());
  if (!Number.isSafeInteger(value) || value < 0) throw new StorageError('CORRUPT_LOG', `${path.join(dir, name)} holds '${text.trim()}', not an epoch`);
  return value;
}

export async function writeEpochFile(dir: string, name: EpochName, value: number): Promise<void> {
  const file = path.join(dir, name);
  const tmp = file + '.tmp';
  const h = await open(tmp, 'w');
  try {
    await h.writeFile(`${value}\n`);
    await h.sync();
  } finally {
    await h.close();
  }
  await rename(tmp, file);
  await fsyncDir(dir);
}
