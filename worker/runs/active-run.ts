/**
 * One attempt this worker holds: its record and current version (the
 * fence moves with each of our own writes), its AbortController, and its
 * throttled progress and log writes. Writes are serialized so the finish
 * always uses the version of the last progress write; a progress write that
 * meets BAD_VERSION means someone else owns the run now: abort, DROVER_FENCED.
 * A bundled run's writes go to its BundleHolder instead, which writes the
 * whole bundle (and keeps fewer log lines and shorter messages per run).
 */
import type { Logger } from 'pino';
import type { Coordination } from '../../shared/client/coordination.ts';
import { isZkError } from '../../shared/client/zk-error.ts';
import { DroverError } from '../../shared/errors.ts';
import type { RunLogLine, RunRecord } from '../../shared/jobs/job-types.ts';
import { layout } from '../../shared/jobs/layout.ts';
import {
  BUNDLE_LOG_FIELDS_CHARS_MAX,
  BUNDLE_LOG_LINES_MAX,
  BUNDLE_MESSAGE_CHARS_MAX,
  PROGRESS_INTERVAL_MS,
  RUN_LOG_LINE_CHARS_MAX,
  RUN_LOG_LINES_MAX,
} from '../../shared/jobs/limits.ts';
import { boundFields } from './log-fields.ts';
import type { BundleHolder } from './bundle-holder.ts';
import { AbortLatch } from './abort-latch.ts';
import { encodeRecord } from '../../shared/jobs/run-codec.ts';
import { changed } from '../../shared/jobs/record-copy.ts';
import type { ClaimedRun } from './claim.ts';
import type { HeldClaimGroup } from './held-claim-group.ts';

export class ActiveRun {
  readonly job: string;
  readonly runId: string;
  readonly fence: string;
  readonly latch = new AbortLatch();
  record: RunRecord;
  version: number;
  private writes: Promise<void> = Promise.resolve();
  /** Whether a progress write was ever queued (settle then waits for the chain). */
  private wrote = false;
  /** The claim group of a single run (held-claim-group.ts). */
  readonly group: HeldClaimGroup | undefined;
  /** The attempt's pino child, made by the runner when it first has something to log. */
  runLog: Logger | undefined = undefined;
  private dirty = false;
  private lastWriteAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly client: Coordination,
    claimed: ClaimedRun,
    private readonly logger: Logger,
    readonly holder: BundleHolder | null = null,
  ) {
    this.job = claimed.job;
    this.runId = claimed.runId;
    this.fence = claimed.fence;
    this.record = claimed.record;
    this.version = claimed.version;
    this.group = claimed.group;
  }

  get signal(): AbortSignal {
    return this.latch.signal;
  }

  /** The reason the run was aborted, as a DroverError, or null. */
  get abortReason(): DroverError | null {
    if (!this.latch.aborted) return null;
    const r: unknown = this.latch.reason;
    return r instanceof DroverError ? r : new DroverError('DROVER_CANCELLED', String(r));
  }

  abort(reason: DroverError): void {
    this.latch.abort(reason);
  }

  progress(pct: number, message?: string): void {
    if (this.closed || !Number.isFinite(pct)) return;
    const p = Math.max(0, Math.min(100, pct));
    const chars = this.holder ? BUNDLE_MESSAGE_CHARS_MAX : RUN_LOG_LINE_CHARS_MAX;
    this.record.progress = { pct: p, at: Date.now(), ...(message !== undefined ? { message: message.slice(0, chars) } : {}) };
    this.markDirty();
  }

  /** `fields` come JSON-safe and bounded for a run of its own (run-logger.ts); a bundled run's are cut further. */
  log(level: string, msg: string, fields?: Record<string, unknown>): void {
    if (this.closed) return;
    const logs = this.record.logs ?? [];
    const line: RunLogLine = { at: Date.now(), level, msg: msg.slice(0, RUN_LOG_LINE_CHARS_MAX) };
    const kept = fields && this.holder ? boundFields(fields, BUNDLE_LOG_FIELDS_CHARS_MAX) : fields;
    if (kept) line.fields = kept;
    logs.push(line);
    const keep = this.holder ? BUNDLE_LOG_LINES_MAX : RUN_LOG_LINES_MAX;
    if (logs.length > keep) logs.splice(0, logs.length - keep);
    this.record.logs = logs;
    this.markDirty();
  }

  private markDirty(): void {
    if (this.holder) {
      this.holder.touch(this.runId, changed(this.record, {}));
      return;
    }
    this.dirty = true;
    if (this.timer) return;
    const wait = Math.max(0, this.lastWriteAt + PROGRESS_INTERVAL_MS - Date.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.enqueueWrite();
    }, wait);
  }

  private enqueueWrite(): void {
    this.wrote = true;
    this.writes = this.writes.then(() => this.write());
  }

  private async write(): Promise<void> {
    if (!this.dirty || this.closed) return;
    this.dirty = false;
    this.lastWriteAt = Date.now();
    try {
      const stat = await this.client.set(layout.run(this.job, this.runId), encodeRecord(this.record), this.version);
      this.version = stat.version;
    } catch (err) {
      if (isZkError(err, 'BAD_VERSION') || isZkError(err, 'NO_NODE')) {
        this.logger.warn({ job: this.job, runId: this.runId }, 'fenced: the run moved on while running');
        this.abort(new DroverError('DROVER_FENCED', `run ${this.runId} is no longer owned by this worker`));
        this.closed = true;
        return;
      }
      // A dropped connection: keep the data dirty; the finish carries it anyway.
      this.dirty = true;
      this.logger.debug({ err, runId: this.runId }, 'progress write failed');
    }
  }

  /**
   * Stops further progress writes; returns the write in flight to wait for
   * (null when none was ever made, as for most short runs), so the caller can
   * finish at `version`. The final progress rides on the finish.
   */
  settle(): Promise<void> | null {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.closed = true;
    return this.wrote ? this.writes : null;
  }
}
