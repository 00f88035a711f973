/** For tests that drive ZabPeers by hand: a perfect, instant disk under every peer. */
import type { ZabMessage } from '../../coordinator/zab/messages.ts';
import type { ZabPeer } from '../../coordinator/zab/peer.ts';

/**
 * Takes and advances every Ready of every peer until none has one, handing
 * each message to `deliver` (which may step another peer); `afterRound` runs
 * after each round over the peers.
 */
export function drainPeers(peers: Map<number, ZabPeer>, deliver: (m: ZabMessage) => void, afterRound: () => void = () => undefined): void {
  for (let moved = true; moved; ) {
    moved = false;
    for (const p of peers.values()) {
      while (p.hasReady()) {
        moved = true;
        const r = p.ready();
        p.advance(r);
        for (const m of r.messages) deliver(m);
      }
    }
    afterRound();
  }
}
