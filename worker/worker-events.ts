/** What a worker reports about itself (worker.onEvent), for tests, the CLI and logs. */
import type { ConnectionState } from '../shared/client/coordination.ts';
import type { FinishKind } from './runs/finish.ts';

export type WorkerEvent =
  | { type: 'registered'; workerId: string }
  | { type: 'state'; state: ConnectionState; sessionChanged: boolean }
  | { type: 'claimed'; job: string; runId: string; attempt: number; fence: string }
  | { type: 'finished'; job: string; runId: string; kind: FinishKind; attempt: number }
  /** The attempt ended without a write: fenced, or its session was lost. */
  | { type: 'abandoned'; job: string; runId: string; code: string }
  /** A job's claim loop is about to wait (for a watch or a slot), and why. */
  | { type: 'waiting'; job: string; reason: 'paused' | 'empty' | 'full' | 'disconnected' }
  | { type: 'draining' }
  | { type: 'closed' };

export type WorkerEventListener = (event: WorkerEvent) => void;
