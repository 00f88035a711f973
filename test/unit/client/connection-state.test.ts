import { describe, expect, it } from 'vitest';
import { nextState, type ConnectionInput, type MachineState } from '../../../shared/client/connection-state.ts';
import { exponentialBackoff, retryNTimes, retryUntilElapsed } from '../../../shared/client/retry.ts';

function run(inputs: ConnectionInput[]): string[] {
  let s: MachineState = 'LATENT';
  const out: string[] = [];
  for (const i of inputs) {
    const c = nextState(s, i);
    if (!c) continue;
    s = c.state;
    out.push(c.sessionChanged ? `${c.state}*` : c.state);
  }
  return out;
}

describe('connection state machine', () => {
  it('follows Curator: suspended, reconnected, lost, reconnected with a new session', () => {
    expect(run(['connected', 'disconnected', 'connected', 'disconnected', 'suspend-timeout', 'disconnected', 'connected'])).toEqual([
      'CONNECTED',
      'SUSPENDED',
      'RECONNECTED',
      'SUSPENDED',
      'LOST',
      'RECONNECTED*',
    ]);
  });
  it('expiry while connected is LOST; closed is terminal', () => {
    expect(run(['connected', 'expired', 'connected', 'closed', 'connected', 'disconnected'])).toEqual(['CONNECTED', 'LOST', 'RECONNECTED*', 'CLOSED']);
  });
  it('ignores noise before the first connection', () => {
    expect(run(['disconnected', 'expired', 'suspend-timeout', 'connected'])).toEqual(['CONNECTED']);
  });
});

describe('retry policies', () => {
  it('exponential backoff grows, stays within its cap, and gives up after maxRetries', () => {
    const p = exponentialBackoff({ baseMs: 100, maxDelayMs: 1000, maxRetries: 6 });
    const max = () => 0.999;
    const min = () => 0;
    expect([1, 2, 3, 4, 5, 6].map((r) => p.delayBeforeRetry(r, 0, max))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect([1, 2, 3].map((r) => p.delayBeforeRetry(r, 0, min))).toEqual([50, 100, 200]);
    expect(p.delayBeforeRetry(7, 0)).toBeNull();
  });
  it('n times and until elapsed', () => {
    expect(retryNTimes(2, 10).delayBeforeRetry(2, 0)).toBe(10);
    expect(retryNTimes(2, 10).delayBeforeRetry(3, 0)).toBeNull();
    expect(retryUntilElapsed(100, 30).delayBeforeRetry(9, 60)).toBe(30);
    expect(retryUntilElapsed(100, 30).delayBeforeRetry(1, 80)).toBeNull();
  });
});
