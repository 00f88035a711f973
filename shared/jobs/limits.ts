/**
 * Every bound of the job runtime, in one place, with how they relate
 * asserted at load (TigerBeetle's constants.zig). The hard ceiling is
 * ZooKeeper's jute.maxbuffer (1 MiB - 1 by default, Drover's too): a znode's
 * data and a whole request frame (a multi) must stay below it.
 *
 * A run record holds its input AND its result, so each gets 400 KiB rather
 * than the 512 KiB one might expect: 2 x 400 KiB plus the bounded logs,
 * progress and error still fit one znode, and a claim or finish multi for a
 * single run of maximal size still fits one frame.
 */
export const JUTE_MAXBUFFER_BYTES = 1024 * 1024 - 1;

/** The largest accepted job input, as UTF-8 JSON. */
export const PAYLOAD_BYTES_MAX = 400 * 1024;
/** The largest accepted handler result, as UTF-8 JSON. */
export const RESULT_BYTES_MAX = 400 * 1024;
/**
 * The largest input schema (defineJob's `input`), as UTF-8 JSON. It is
 * published in the job's spec beside scheduleInput (at most
 * PAYLOAD_BYTES_MAX), and the spec is one znode.
 */
export const INPUT_SCHEMA_BYTES_MAX = 64 * 1024;

/** Log lines kept on a run record (the newest). */
export const RUN_LOG_LINES_MAX = 20;
/** A log line's or progress message's text is cut to this many characters. */
export const RUN_LOG_LINE_CHARS_MAX = 500;
/** An error message recorded on a run is cut to this many characters. */
export const RUN_ERROR_CHARS_MAX = 4000;
/** An error's code and class name are each cut to this many characters. */
export const RUN_ERROR_NAME_CHARS_MAX = 64;
/** A log line's structured fields, as JSON, are cut to this many characters (keys that do not fit go). */
export const RUN_LOG_FIELDS_CHARS_MAX = 200;
/**
 * Attempt history (RunRecord.attempts): the last RUN_ATTEMPTS_MAX attempts
 * that did not succeed, each with its error (message cut to
 * RUN_ATTEMPT_ERROR_CHARS_MAX, stack frames to RUN_ERROR_STACK_CHARS_MAX)
 * and last RUN_ATTEMPT_LOG_LINES_MAX log lines, and all of them at most
 * RUN_ATTEMPTS_BYTES_MAX as UTF-8 JSON: past that the oldest shed their
 * logs, then their stacks, then go (attempt-history.ts measures).
 */
export const RUN_ATTEMPTS_MAX = 10;
export const RUN_ATTEMPTS_BYTES_MAX = 24 * 1024;
export const RUN_ATTEMPT_ERROR_CHARS_MAX = 1000;
export const RUN_ERROR_STACK_CHARS_MAX = 2000;
export const RUN_ATTEMPT_LOG_LINES_MAX = 5;
/** Progress writes are at most this often per run (the final one always goes). */
export const PROGRESS_INTERVAL_MS = 250;

/** A multi is cut into chunks of at most this many ops ... */
export const MULTI_OPS_MAX = 1000;
/** ... and about this many data bytes (one oversize run still goes alone). */
export const MULTI_BYTES_TARGET = 256 * 1024;
/** Queue items (runs, or bundles) claimed by one claim multi. */
export const CLAIM_BATCH_MAX = 200;
/** Runs claimed by one claim multi (more than CLAIM_BATCH_MAX only through bundles). */
export const CLAIM_RUNS_MAX = 2048;
/** Members of one barrier run group (the release is one multi). */
export const BARRIER_SIZE_MAX = 200;
/** Priorities are lanes 0..PRIORITY_MAX; lower runs first. */
export const PRIORITY_MAX = 9;
export const PRIORITY_DEFAULT = 5;

/**
 * Bundles (docs/adr/0006-run-bundles.md): up to BUNDLE_RUNS_MAX runs share
 * one record, so each bundled run gets a small share of the znode: its
 * inputs together at most BUNDLE_INPUT_BYTES_MAX (a larger item is not
 * bundled), its result BUNDLE_RESULT_BYTES_MAX (larger fails the run with
 * DROVER_PAYLOAD_TOO_LARGE), fewer log lines and shorter messages.
 */
export const BUNDLE_RUNS_MAX = 64;
export const BUNDLE_INPUT_BYTES_MAX = 128 * 1024;
export const BUNDLE_RESULT_BYTES_MAX = 2 * 1024;
export const BUNDLE_LOG_LINES_MAX = 2;
export const BUNDLE_ERROR_CHARS_MAX = 500;
export const BUNDLE_MESSAGE_CHARS_MAX = 200;
/** A bundled run's share of attempt history: fewer attempts, shorter stacks, one log line each, a smaller budget. */
export const BUNDLE_LOG_FIELDS_CHARS_MAX = 80;
export const BUNDLE_ATTEMPTS_MAX = 3;
export const BUNDLE_ATTEMPTS_BYTES_MAX = 1536;
export const BUNDLE_ERROR_STACK_CHARS_MAX = 600;
export const BUNDLE_ATTEMPT_LOG_LINES_MAX = 1;
/** Per bundled run, beyond its input/result/logs/error/message: ids, states, times, attempts as JSON. */
const BUNDLE_RUN_OVERHEAD_BYTES_MAX = 600;

const RECORD_OVERHEAD_BYTES_MAX = 64 * 1024;

function assert(ok: boolean, why: string): void {
  if (!ok) throw new Error(`job limits: ${why}`);
}
assert(
  PAYLOAD_BYTES_MAX +
    RESULT_BYTES_MAX +
    RUN_LOG_LINES_MAX * (RUN_LOG_LINE_CHARS_MAX + RUN_LOG_FIELDS_CHARS_MAX) * 4 +
    (RUN_ERROR_CHARS_MAX + 2 * RUN_ERROR_NAME_CHARS_MAX) * 4 +
    RUN_ATTEMPTS_BYTES_MAX +
    RECORD_OVERHEAD_BYTES_MAX <
    JUTE_MAXBUFFER_BYTES - 64 * 1024,
  'a full run record must fit one znode and one multi frame',
);
assert(
  BUNDLE_INPUT_BYTES_MAX +
    BUNDLE_RUNS_MAX *
      (BUNDLE_RESULT_BYTES_MAX +
        BUNDLE_LOG_LINES_MAX * (RUN_LOG_LINE_CHARS_MAX + BUNDLE_LOG_FIELDS_CHARS_MAX) * 4 +
        (BUNDLE_ERROR_CHARS_MAX + 2 * RUN_ERROR_NAME_CHARS_MAX + BUNDLE_MESSAGE_CHARS_MAX) * 4 +
        BUNDLE_ATTEMPTS_BYTES_MAX +
        BUNDLE_RUN_OVERHEAD_BYTES_MAX) +
    RECORD_OVERHEAD_BYTES_MAX <
    JUTE_MAXBUFFER_BYTES - 64 * 1024,
  'a full bundle record must fit one znode and one multi frame',
);
assert(PAYLOAD_BYTES_MAX + INPUT_SCHEMA_BYTES_MAX + RECORD_OVERHEAD_BYTES_MAX < JUTE_MAXBUFFER_BYTES - 64 * 1024, 'a job spec with its schema and scheduleInput must fit one znode');
assert(BUNDLE_RUNS_MAX <= CLAIM_RUNS_MAX, 'a bundle must fit one claim');
assert(BUNDLE_ATTEMPTS_MAX <= RUN_ATTEMPTS_MAX && BUNDLE_ATTEMPTS_BYTES_MAX <= RUN_ATTEMPTS_BYTES_MAX, "a bundled run's history is a share of a run's");
assert(CLAIM_BATCH_MAX * 4 <= MULTI_OPS_MAX, 'a claim batch must fit one multi');
assert(BARRIER_SIZE_MAX * 2 + 4 <= MULTI_OPS_MAX, 'a barrier release must fit one multi');
