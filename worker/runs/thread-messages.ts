/** The messages between the worker's main thread and its handler threads. */
import type { ExecOutcome, ExecRequest } from './executor.ts';
import type { LogLevel } from './run-logger.ts';

/**
 * A turn's new attempts as parallel arrays, one entry per attempt. A
 * postMessage clones every object it carries, and an object per attempt
 * (with its request inside) was most of the hop's cost: v8.serialize and
 * deserialize of 200 attempts, 1.95 µs each as objects, 0.46 as arrays.
 */
export interface RunsMessage {
  t: 'runs';
  ids: number[];
  jobs: string[];
  runIds: string[];
  inputs: unknown[];
  attempts: number[];
  fences: string[];
  /** -1: no partition. */
  partitions: number[];
}

export interface AbortMessage {
  t: 'abort';
  id: number;
  code: string;
  message: string;
}

export type ToThread = RunsMessage | AbortMessage;

/**
 * A turn's outcomes, the same way (2.25 µs an attempt as objects): `ok`,
 * then the result and its bytes, or the failed outcome itself (rare).
 */
export interface DoneMessage {
  t: 'done';
  ids: number[];
  ok: boolean[];
  values: unknown[];
  bytes: number[];
}

export type FromThread =
  | { t: 'ready'; jobs: string[] }
  | { t: 'load-failed'; message: string }
  | { t: 'progress'; id: number; pct: number; message?: string }
  /** fields: the line's structured fields, already JSON-safe and bounded (run-logger.ts). */
  | { t: 'log'; id: number; level: LogLevel; msg: string; fields?: Record<string, unknown> }
  | DoneMessage;

/**
 * What crosses a port: the messages of one event-loop turn, in order, as one
 * postMessage (a message per run and outcome cost more than a no-op run).
 * Attempts go before aborts: an abort is only ever sent after its attempt.
 */
export type ToThreadBatch = ToThread[];
export type FromThreadBatch = FromThread[];

export function emptyRuns(): RunsMessage {
  return { t: 'runs', ids: [], jobs: [], runIds: [], inputs: [], attempts: [], fences: [], partitions: [] };
}

export function addRun(m: RunsMessage, id: number, req: ExecRequest): void {
  m.ids.push(id);
  m.jobs.push(req.job);
  m.runIds.push(req.runId);
  m.inputs.push(req.input);
  m.attempts.push(req.attempt);
  m.fences.push(req.fence);
  m.partitions.push(req.partition ?? -1);
}

export function runAt(m: RunsMessage, i: number): ExecRequest {
  const req: ExecRequest = { job: m.jobs[i] as string, runId: m.runIds[i] as string, input: m.inputs[i], attempt: m.attempts[i] as number, fence: m.fences[i] as string };
  const partition = m.partitions[i] as number;
  if (partition >= 0) req.partition = partition;
  return req;
}

export function emptyDone(): DoneMessage {
  return { t: 'done', ids: [], ok: [], values: [], bytes: [] };
}

export function addOutcome(m: DoneMessage, id: number, o: ExecOutcome): void {
  m.ids.push(id);
  m.ok.push(o.ok);
  m.values.push(o.ok ? o.result : o);
  m.bytes.push(o.ok ? o.bytes : 0);
}

export function outcomeAt(m: DoneMessage, i: number): ExecOutcome {
  return m.ok[i] ? { ok: true, result: m.values[i], bytes: m.bytes[i] as number } : (m.values[i] as ExecOutcome);
}

export interface ThreadData {
  files: string[];
}
