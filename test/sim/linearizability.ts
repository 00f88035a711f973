/**
 * A Wing–Gong linearizability checker (with Lowe's memoization, as in
 * Porcupine and Knossos' WGL) over a key-value model: each key is a register
 * written with `set` and read with `get`, initially absent (null).
 * Linearizability is compositional, so each key's history is checked alone.
 *
 * An operation that was invoked but never answered (`respondedAt: Infinity`)
 * may or may not have taken effect: a write like that may be linearized
 * anywhere after its invocation; an unanswered read constrains nothing and
 * is dropped. Values must be unique per key, which is what keeps the search
 * small (a read names the one write it saw).
 */

export interface KvOp {
  kind: 'set' | 'get';
  key: string;
  /** The value written, or the value the read returned (null: absent). */
  value: string | null;
  invokedAt: number;
  /** Infinity when the client never heard back. */
  respondedAt: number;
}

export type LinearizabilityResult = { ok: true } | { ok: false; key: string; reason: string };

/** Search steps per key before giving up loudly (a bound on every loop). */
const SEARCH_STEPS_MAX = 2_000_000;

export function checkKvLinearizable(history: readonly KvOp[]): LinearizabilityResult {
  const byKey = new Map<string, KvOp[]>();
  for (const op of history) {
    if (op.respondedAt < op.invokedAt) throw new RangeError(`an operation on ${op.key} answered before it was invoked`);
    if (op.kind === 'get' && op.respondedAt === Infinity) continue;
    let ops = byKey.get(op.key);
    if (!ops) byKey.set(op.key, (ops = []));
    ops.push(op);
  }
  for (const [key, ops] of byKey) {
    const reason = checkRegister(pruneUnobserved(ops));
    if (reason !== null) return { ok: false, key, reason };
  }
  return { ok: true };
}

/**
 * An unanswered write nobody read can always be placed last, where it
 * changes nothing observed: leaving it out decides nothing and saves the
 * search from trying it everywhere.
 */
function pruneUnobserved(ops: KvOp[]): KvOp[] {
  const read = new Set<string | null>();
  for (const op of ops) if (op.kind === 'get') read.add(op.value);
  return ops.filter((op) => op.kind === 'get' || op.respondedAt !== Infinity || read.has(op.value));
}

interface Event {
  op: number;
  call: boolean;
  time: number;
}

/** null when the register history is linearizable, else why not. */
function checkRegister(ops: readonly KvOp[]): string | null {
  const n = ops.length;
  if (n === 0) return null;
  const events: Event[] = [];
  for (let i = 0; i < n; i++) {
    const op = ops[i] as KvOp;
    events.push({ op: i, call: true, time: op.invokedAt });
    events.push({ op: i, call: false, time: op.respondedAt });
  }
  // At equal times calls come first: operations that touch are treated as
  // concurrent, which can only allow more orders (never a false alarm).
  events.sort((a, b) => a.time - b.time || (a.call === b.call ? a.op - b.op : a.call ? -1 : 1));
  // A doubly linked list over the events, with a sentinel head at index m.
  const m = events.length;
  const next = new Int32Array(m + 1);
  const prev = new Int32Array(m + 1);
  const returnOf = new Int32Array(n);
  for (let i = 0; i < m; i++) {
    next[i] = i + 1 < m ? i + 1 : -1;
    prev[i] = i === 0 ? m : i - 1;
    const e = events[i] as Event;
    if (!e.call) returnOf[e.op] = i;
  }
  next[m] = m > 0 ? 0 : -1;
  const unlink = (i: number): void => {
    const p = prev[i] as number;
    const q = next[i] as number;
    next[p] = q;
    if (q >= 0) prev[q] = p;
  };
  const relink = (i: number): void => {
    const p = prev[i] as number;
    const q = next[i] as number;
    next[p] = i;
    if (q >= 0) prev[q] = i;
  };
  const linearized = new Uint8Array(n);
  const seen = new Set<string>();
  const stack: { event: number; state: string | null }[] = [];
  let state: string | null = null;
  let entry = next[m] as number;
  let steps = 0;
  while ((next[m] as number) >= 0) {
    if (++steps > SEARCH_STEPS_MAX) throw new RangeError(`linearizability search exceeded ${SEARCH_STEPS_MAX} steps on ${n} operations`);
    const e = events[entry] as Event;
    if (e.call) {
      const op = ops[e.op] as KvOp;
      const ok = op.kind === 'set' || op.value === state;
      const after: string | null = op.kind === 'set' ? op.value : state;
      let fresh = false;
      if (ok) {
        linearized[e.op] = 1;
        const memo = `${after}\u0000${linearized.join('')}`;
        fresh = !seen.has(memo);
        if (fresh) seen.add(memo);
        else linearized[e.op] = 0;
      }
      if (fresh) {
        stack.push({ event: entry, state });
        state = after;
        unlink(entry);
        unlink(returnOf[e.op] as number);
        entry = next[m] as number;
      } else {
        entry = next[entry] as number;
      }
      continue;
    }
    // A return reached with its operation not linearized: undo the last choice.
    const top = stack.pop();
    if (!top) {
      const op = ops[e.op] as KvOp;
      return `no order explains ${op.kind} ${op.value} (invoked at ${op.invokedAt}, answered at ${op.respondedAt})`;
    }
    const undone = events[top.event] as Event;
    linearized[undone.op] = 0;
    state = top.state;
    relink(returnOf[undone.op] as number);
    relink(top.event);
    entry = next[top.event] as number;
  }
  return null;
}
