/**
 * The connection state machine, pure: what the client library reports
 * (connected, disconnected, expired) and what the clock says (the session
 * timeout passed while disconnected) in; Curator's states out.
 *
 *   (start) --connected--> CONNECTED
 *   CONNECTED | RECONNECTED --disconnected--> SUSPENDED
 *   SUSPENDED --connected--> RECONNECTED (same session)
 *   SUSPENDED --expired | suspend-timeout--> LOST
 *   LOST --connected (new session)--> RECONNECTED (sessionChanged)
 *   any --closed--> CLOSED (terminal)
 */
import type { ConnectionState, StateChange } from './coordination.ts';

export type ConnectionInput = 'connected' | 'disconnected' | 'expired' | 'suspend-timeout' | 'closed';

/** The state before the first connection: not observable through the interface. */
export type MachineState = ConnectionState | 'LATENT';

export function nextState(state: MachineState, input: ConnectionInput): StateChange | null {
  if (state === 'CLOSED') return null;
  if (input === 'closed') return { state: 'CLOSED', sessionChanged: false };
  switch (state) {
    case 'LATENT':
      if (input === 'connected') return { state: 'CONNECTED', sessionChanged: false };
      // A session that expires before it is first established is simply a new attempt.
      return null;
    case 'CONNECTED':
    case 'RECONNECTED':
      if (input === 'disconnected') return { state: 'SUSPENDED', sessionChanged: false };
      if (input === 'expired') return { state: 'LOST', sessionChanged: false };
      return null;
    case 'SUSPENDED':
      if (input === 'connected') return { state: 'RECONNECTED', sessionChanged: false };
      if (input === 'expired' || input === 'suspend-timeout') return { state: 'LOST', sessionChanged: false };
      return null;
    case 'LOST':
      if (input === 'connected') return { state: 'RECONNECTED', sessionChanged: true };
      return null;
  }
}

/** States in which requests can be sent now. */
export function isConnected(state: MachineState): boolean {
  return state === 'CONNECTED' || state === 'RECONNECTED';
}
