/**
 * A standalone server is an ensemble of one (ADR 0003); a data dir written
 * by a standalone server before that — zxids of epoch 0, a snapshot and the
 * log above it, no myid and no epoch files — still loads whole, and the
 * server goes on from it in a new epoch, reporting Mode: standalone.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { defaultConfig, startStandalone, type RunningMember } from '../../coordinator/index.ts';
import { silentLogger } from '../../coordinator/base/log.ts';
import { TxnLog } from '../../coordinator/storage/txn-log.ts';
import { writeSnapshot } from '../../coordinator/storage/snapshot.ts';
import { encodeTxn } from '../../coordinator/protocol/txn-codec.ts';
import { encodeSnapshot } from '../../coordinator/member/snapshot-codec.ts';
import { ReplicatedState } from '../../coordinator/server/replicated-state.ts';
import type { Txn, TxnHeader } from '../../coordinator/txn/txn.ts';
import { connect } from '../helpers/zk-promise.ts';

const OPEN = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];

function fourLetter(port: number, cmd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const s = net.connect(port, '127.0.0.1', () => s.write(cmd));
    s.on('data', (d) => (out += d.toString()));
    s.on('end', () => resolve(out));
    s.on('error', reject);
  });
}

describe('a standalone data dir from before ensembles of one', () => {
  let dataDir = '';
  let member: RunningMember | null = null;
  afterEach(async () => {
    await member?.stop();
    member = null;
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('loads its snapshot and log (epoch 0, no epoch files) and goes on in a new epoch', async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'drover-upgrade-'));
    const dir = path.join(dataDir, 'version-2');
    await mkdir(dir, { recursive: true });
    // What the old standalone server wrote: zxids 1, 2, 3 ... (epoch 0), a snapshot at 100, the log.
    const state = ReplicatedState.empty(2000);
    const records: { zxid: number; bytes: Buffer }[] = [];
    const now = Date.now();
    for (let zxid = 1; zxid <= 200; zxid++) {
      const header: TxnHeader = { sessionId: 0n, cxid: zxid, zxid, time: now };
      const txn: Txn = { type: 'create', path: `/n${zxid}`, data: Buffer.from(`v${zxid}`), acl: OPEN, ephemeralOwner: 0n, parentCVersion: zxid };
      state.apply(header, txn, now);
      records.push({ zxid, bytes: encodeTxn({ header, txn }) });
      if (zxid === 100) await writeSnapshot(dir, { zxid, chunks: [encodeSnapshot(state)] });
    }
    const log = await TxnLog.open(dir, { fsync: false, log: silentLogger() });
    await log.append(records);
    await log.close();
    expect((await readdir(dir)).some((f) => f.endsWith('Epoch'))).toBe(false);

    const config = defaultConfig({ dataDir, dataLogDir: dataDir, clientPort: 0, clientPortAddress: '127.0.0.1', fourLetterWhitelist: '*' });
    member = await startStandalone(config, silentLogger());
    const c = await connect(`127.0.0.1:${member.port}`);
    expect((await c.children('/')).children.filter((n) => n.startsWith('n'))).toHaveLength(200);
    expect(String((await c.get('/n150')).data)).toBe('v150');
    await c.create('/after', Buffer.from('x'));
    const stat = await c.exists('/after');
    // A new epoch above everything the old dir held.
    expect(Number(BigInt('0x' + (stat?.czxid as Buffer).toString('hex')) >> 32n)).toBe(1);
    expect(await fourLetter(member.port, 'srvr')).toContain('Mode: standalone');
    c.close();
    await member.stop();

    // And it starts again from what it wrote (epoch files now), in the next epoch.
    member = await startStandalone(config, silentLogger());
    const c2 = await connect(`127.0.0.1:${member.port}`);
    expect((await c2.children('/')).children.filter((n) => n.startsWith('n') || n === 'after')).toHaveLength(201);
    await c2.create('/again', null);
    expect(Number(BigInt('0x' + ((await c2.exists('/again'))?.czxid as Buffer).toString('hex')) >> 32n)).toBe(2);
    c2.close();
  });
});
