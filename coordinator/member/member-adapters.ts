/**
 * The production `Disk`, `Links` and `Clock` of a `Member` (member.ts): the
 * transaction log, epoch files and snapshot directory; the quorum transport;
 * the system clock and timers.
 */
import type { Logger } from 'pino';
import type { TxnLog } from '../storage/txn-log.ts';
import { writeEpochFile } from '../storage/epoch-file.ts';
import { readSnapshot, retainSnapshots, writeSnapshot } from '../storage/snapshot.ts';
import type { PersistWork } from '../zab/messages.ts';
import { encodeProposalParts, encodeZabMessage } from '../zab/message-codec.ts';
import { hexZxid } from '../zab/zxid.ts';
import { FrameType, type PeerTransport } from './peer-transport.ts';
import type { Clock, Disk, Links, WireMessage } from './member.ts';

export class FileDisk implements Disk {
  constructor(
    private readonly opts: {
      txnLog: TxnLog;
      snapDir: string;
      /** Where acceptedEpoch and currentEpoch live. */
      epochDir: string;
      log: Logger;
    },
  ) {}

  async persist(p: PersistWork): Promise<void> {
    const { txnLog, snapDir, epochDir, log } = this.opts;
    if (p.truncateTo !== null) await txnLog.truncateAfter(p.truncateTo);
    if (p.snapshot !== null) {
      // The leader's snapshot replaces this member's history: durable first, then the old log goes
      // (a crash in between recovers the snapshot and skips the older records).
      await writeSnapshot(snapDir, { zxid: p.snapshot.zxid, chunks: [p.snapshot.data] });
      await txnLog.discardAll(p.snapshot.zxid);
      await retainSnapshots(snapDir, 1);
      log.info({ zxid: hexZxid(p.snapshot.zxid), bytes: p.snapshot.data.length }, "installed the leader's snapshot (SNAP)");
    }
    if (p.entries.length > 0) await txnLog.append(p.entries.map((e) => ({ zxid: e.zxid, bytes: e.data })));
    if (p.acceptedEpoch !== null) await writeEpochFile(epochDir, 'acceptedEpoch', p.acceptedEpoch);
    if (p.currentEpoch !== null) await writeEpochFile(epochDir, 'currentEpoch', p.currentEpoch);
  }

  async readSnapshot(zxid: number): Promise<Buffer | null> {
    const snap = await readSnapshot(this.opts.snapDir, zxid);
    return snap ? snap.bytes : null;
  }
}

/** ZAB messages over the quorum transport (which also carries forwarded writes and session touches). */
export class TransportLinks implements Links {
  constructor(private readonly transport: PeerTransport) {}

  send(m: WireMessage): void {
    if (m.kind === 'proposal') this.transport.sendParts(m.to, FrameType.zab, encodeProposalParts(m));
    else this.transport.send(m.to, FrameType.zab, encodeZabMessage(m).subarray(4));
  }
}

export const systemClock: Clock = {
  now: () => Date.now(),
  every: (ms, fn) => {
    const t = setInterval(fn, ms);
    return () => clearInterval(t);
  },
};
