/**
 * Snapshot files `snapshot.<16 hex zxid>`:
 *   magic u32 "DRVS" | version u32 (1) | zxid u64 | length u32 | crc32 u32 | payload
 * Written to a temp name, fsynced, renamed, directory fsynced: a snapshot
 * file either is whole or is not there.
 */
import { open, readdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import type { Logger } from 'pino';
import { fsyncDir } from './fsync-dir.ts';

const MAGIC = 0x44525653; // "DRVS"
const VERSION = 1;
const HEADER = 24;

export interface Snapshot {
  zxid: number;
  bytes: Buffer;
}

/** What is written: the payload may come in chunks (one per slice of a large tree). */
export interface SnapshotToWrite {
  zxid: number;
  chunks: readonly Buffer[];
}

function fileName(zxid: number): string {
  return 'snapshot.' + zxid.toString(16).padStart(16, '0');
}

function parseName(name: string): number | null {
  const m = /^snapshot\.([0-9a-f]{16})$/.exec(name);
  return m ? parseInt(m[1] as string, 16) : null;
}

/** Yields to the event loop between chunks so a large snapshot never stalls clients. */
async function checksum(chunks: readonly Buffer[]): Promise<{ crc: number; length: number }> {
  let crc = 0;
  let length = 0;
  let since = 0;
  for (const c of chunks) {
    crc = crc32(c, crc);
    length += c.length;
    since += c.length;
    if (since > 1 << 20) {
      since = 0;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
  return { crc, length };
}

export async function writeSnapshot(dir: string, snap: SnapshotToWrite): Promise<void> {
  const { crc, length } = await checksum(snap.chunks);
  const header = Buffer.alloc(HEADER);
  header.writeUInt32BE(MAGIC, 0);
  header.writeUInt32BE(VERSION, 4);
  header.writeUInt32BE(Math.floor(snap.zxid / 4294967296), 8);
  header.writeUInt32BE(snap.zxid >>> 0, 12);
  header.writeUInt32BE(length, 16);
  header.writeUInt32BE(crc, 20);
  const final = path.join(dir, fileName(snap.zxid));
  const tmp = final + '.tmp';
  const h = await open(tmp, 'w');
  try {
    let pos = 0;
    for (const part of [header, ...snap.chunks]) {
      let done = 0;
      while (done < part.length) {
        const { bytesWritten } = await h.write(part, done, part.length - done, pos);
        done += bytesWritten;
        pos += bytesWritten;
      }
    }
    await h.sync();
  } finally {
    await h.close();
  }
  await rename(tmp, final);
  await fsyncDir(dir);
}

function decode(buf: Buffer, expectZxid: number): Snapshot | string {
  if (buf.length < HEADER) return 'shorter than its header';
  if (buf.readUInt32BE(0) !== MAGIC || buf.readUInt32BE(4) !== VERSION) return 'bad magic or version';
  const zxid = buf.readUInt32BE(8) * 4294967296 + buf.readUInt32BE(12);
  if (zxid !== expectZxid) return `zxid 0x${zxid.toString(16)} does not match its name`;
  const len = buf.readUInt32BE(16);
  if (buf.length !== HEADER + len) return `length ${buf.length - HEADER} instead of ${len}`;
  const bytes = buf.subarray(HEADER);
  if (crc32(bytes) !== buf.readUInt32BE(20)) return 'checksum mismatch';
  return { zxid, bytes };
}

async function listSnapshots(dir: string): Promise<{ zxid: number; file: string }[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const out: { zxid: number; file: string }[] = [];
  for (const n of names) {
    const z = parseName(n);
    if (z !== null) out.push({ zxid: z, file: path.join(dir, n) });
  }
  return out.sort((a, b) => b.zxid - a.zxid);
}

/** The newest snapshot that validates; invalid ones are skipped with a warning. */
export async function loadNewestValidSnapshot(dir: string, log: Logger): Promise<Snapshot | null> {
  for (const s of await listSnapshots(dir)) {
    const result = decode(await readFile(s.file), s.zxid);
    if (typeof result !== 'string') return result;
    log.warn({ file: s.file, reason: result }, 'skipping invalid snapshot');
  }
  return null;
}

/** The zxids of the snapshot files present, newest first (unvalidated). */
export async function listSnapshotZxids(dir: string): Promise<number[]> {
  return (await listSnapshots(dir)).map((s) => s.zxid);
}

/** The snapshot at exactly `zxid`, validated; null when it is missing or invalid. */
export async function readSnapshot(dir: string, zxid: number): Promise<Snapshot | null> {
  const buf = await readFile(path.join(dir, fileName(zxid))).catch(() => null);
  if (buf === null) return null;
  const result = decode(buf, zxid);
  return typeof result === 'string' ? null : result;
}

/** Keeps the newest `count` snapshots; returns the zxid of the oldest kept (for log purging). */
export async function retainSnapshots(dir: string, count: number): Promise<number | null> {
  const all = await listSnapshots(dir);
  for (const s of all.slice(count)) await rm(s.file, { force: true });
  const kept = all.slice(0, count);
  return kept.length > 0 ? (kept[kept.length - 1] as { zxid: number }).zxid : null;
}
