/**
 * Handler threads: a small pool of worker_threads, each loading the job
 * files under tsx, many async attempts multiplexed per thread (the least
 * busy thread gets the next one). The main thread keeps the session: a
 * handler that spins the CPU spins its own thread.
 *
 * An attempt aborted (timeout, cancel, shutdown) that has not returned
 * within `graceMs` is stuck: its thread is terminated and replaced, and the
 * other attempts on it end with DROVER_WORKER_LOST.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker as Thread } from 'node:worker_threads';
import type { Logger } from 'pino';
import { DroverError } from '../../shared/errors.ts';
import type { AbortLatch } from './abort-latch.ts';
import type { ExecHooks, ExecOutcome, ExecRequest, Executor } from './executor.ts';
import { addRun, emptyRuns, outcomeAt, type FromThread, type FromThreadBatch, type AbortMessage, type RunsMessage, type ThreadData, type ToThreadBatch } from './thread-messages.ts';

interface Pending {
  req: ExecRequest;
  hooks: ExecHooks;
  resolve: (o: ExecOutcome) => void;
}

interface Slot {
  thread: Thread;
  ready: Promise<void>;
  pending: Map<number, Pending>;
  /** This turn's attempts and aborts, not yet posted. */
  runs: RunsMessage;
  aborts: AbortMessage[];
  flushScheduled: boolean;
}

/**
 * The thread's entry beside this file: compiled (`.js`) in the package; in a
 * source checkout (`.ts`, run under tsx) a thread needs tsx registered before
 * it can import TypeScript, hence the bootstrap.
 */
function bootstrapCode(): string {
  const fromSource = import.meta.url.endsWith('.ts');
  const entry = new URL(fromSource ? './thread-entry.ts' : './thread-entry.js', import.meta.url).href;
  if (!fromSource) return `import(${JSON.stringify(entry)})`;
  const require = createRequire(import.meta.url);
  const api = pathToFileURL(require.resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
  return `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`;
}

export class ThreadPool implements Executor {
  private readonly slots: Slot[] = [];
  private nextId = 1;
  private closed = false;
  private readonly code = bootstrapCode();

  constructor(
    private readonly opts: { files: string[]; size: number; graceMs: number; logger: Logger },
  ) {
    for (let i = 0; i < Math.max(1, opts.size); i++) this.slots.push(this.spawn());
  }

  /** Resolves when every thread has loaded the job files; rejects with the load error. */
  async ready(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.ready));
  }

  private spawn(): Slot {
    const data: ThreadData = { files: this.opts.files };
    const thread = new Thread(this.code, { eval: true, workerData: data });
    const pending = new Map<number, Pending>();
    let settle!: { resolve: () => void; reject: (e: Error) => void };
    const ready = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
    ready.catch(() => {});
    const slot: Slot = { thread, ready, pending, runs: emptyRuns(), aborts: [], flushScheduled: false };
    thread.on('message', (batch: FromThreadBatch) => {
      for (const m of batch) this.onMessage(slot, m, settle);
    });
    thread.on('error', (err) => {
      this.opts.logger.error({ err }, 'handler thread failed');
      settle.reject(err);
    });
    thread.on('exit', (code) => {
      for (const p of pending.values()) {
        p.resolve({ ok: false, error: { code: 'DROVER_WORKER_LOST', message: `its handler thread exited (${code})` }, permanent: false, handBack: true });
      }
      pending.clear();
      if (this.slots.includes(slot) && !this.closed) {
        this.opts.logger.warn({ code }, 'handler thread exited; starting a new one');
        this.replace(slot);
      }
    });
    return slot;
  }

  private onMessage(slot: Slot, m: FromThread, settle: { resolve: () => void; reject: (e: Error) => void }): void {
    const pending = slot.pending;
    switch (m.t) {
      case 'ready':
        settle.resolve();
        break;
      case 'load-failed':
        settle.reject(new DroverError('DROVER_CONFIG', `a handler thread could not load the job files: ${m.message}`));
        break;
      case 'progress':
        pending.get(m.id)?.hooks.progress(m.pct, m.message);
        break;
      case 'log': {
        const p = pending.get(m.id);
        if (!p) break;
        p.hooks.log(m.level, m.msg, m.fields);
        // The thread's own logger is silent: the line goes out through the worker's.
        const log = this.opts.logger.child({ job: p.req.job, runId: p.req.runId, attempt: p.req.attempt });
        if (m.fields) log[m.level](m.fields, m.msg);
        else log[m.level](m.msg);
        break;
      }
      case 'done':
        for (let i = 0; i < m.ids.length; i++) {
          const id = m.ids[i] as number;
          const p = pending.get(id);
          pending.delete(id);
          p?.resolve(outcomeAt(m, i));
        }
        break;
    }
  }

  /** Queues an attempt (`req`) or an abort for the slot's thread; the turn's messages leave together. */
  private post(slot: Slot, m: { id: number; req: ExecRequest } | AbortMessage): void {
    if ('req' in m) addRun(slot.runs, m.id, m.req);
    else slot.aborts.push(m);
    if (slot.flushScheduled) return;
    slot.flushScheduled = true;
    setImmediate(() => {
      slot.flushScheduled = false;
      const batch: ToThreadBatch = slot.runs.ids.length > 0 ? [slot.runs, ...slot.aborts] : slot.aborts;
      slot.runs = emptyRuns();
      slot.aborts = [];
      // A replaced thread is terminating: what was queued for it has been answered by its exit.
      if (batch.length > 0 && this.slots.includes(slot)) slot.thread.postMessage(batch);
    });
  }

  /** Takes the slot out of service at once (new attempts go to its successor), then ends it. */
  private replace(slot: Slot): void {
    const i = this.slots.indexOf(slot);
    if (i < 0) return;
    this.slots[i] = this.spawn();
    void slot.thread.terminate();
  }

  execute(req: ExecRequest, hooks: ExecHooks, abort: AbortLatch): Promise<ExecOutcome> {
    if (this.closed) return Promise.resolve({ ok: false, error: { code: 'DROVER_CLOSED', message: 'the worker is closing' }, permanent: false });
    const slot = this.slots.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
    const id = this.nextId++;
    return new Promise<ExecOutcome>((resolve) => {
      slot.pending.set(id, { req, hooks, resolve });
      this.post(slot, { id, req });
      const onAbort = (reason: unknown): void => {
        const code = reason instanceof DroverError ? reason.code : 'DROVER_CANCELLED';
        this.post(slot, { t: 'abort', id, code, message: (reason as Error)?.message ?? 'aborted' });
        const stuck = setTimeout(() => {
          if (!slot.pending.has(id) || this.closed) return;
          this.opts.logger.warn({ runId: req.runId, job: req.job }, 'handler ignored its abort past the grace period; replacing its thread');
          this.replace(slot);
        }, this.opts.graceMs);
        stuck.unref();
      };
      abort.onAbort(onAbort);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.thread.terminate()));
  }
}
