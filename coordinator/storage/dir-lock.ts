/**
 * One server per data dir: a LOCK file created exclusively, holding the pid.
 * A lock whose pid is gone (a kill -9) is stale and taken over.
 */
import { open, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { StorageError } from './storage-error.ts';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function acquireDirLock(dir: string): Promise<{ release(): Promise<void> }> {
  const file = path.join(dir, 'LOCK');
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const h = await open(file, 'wx');
      await h.writeFile(String(process.pid));
      await h.close();
      return {
        release: async () => {
          await rm(file, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new StorageError('DATA_DIR_LOCKED', `data dir ${dir} is in use by process ${pid}; stop it or choose another --data-dir`);
      }
      if (pid === process.pid) {
        throw new StorageError('DATA_DIR_LOCKED', `data dir ${dir} is already in use by this process`);
      }
      await rm(file, { force: true });
    }
  }
  throw new StorageError('DATA_DIR_LOCKED', `could not take the lock on ${dir}`);
}
