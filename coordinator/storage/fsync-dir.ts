/** fsync a directory so a created, renamed or deleted entry in it survives a crash. */
import { open } from 'node:fs/promises';

export async function fsyncDir(dir: string): Promise<void> {
  const h = await open(dir, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}
