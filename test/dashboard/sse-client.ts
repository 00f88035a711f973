/**
 * A test's view of the dashboard's SSE feed: it keeps the latest value of
 * each section (the snapshot, then each change) and lets a test await a
 * condition on that state, re-checked on every event (no timers).
 */
export interface FeedState {
  [section: string]: unknown;
}

export interface Feed {
  state: FeedState;
  /** Resolves with the state once `check(state)` is truthy; rejects after timeoutMs. */
  until<T>(what: string, check: (s: FeedState) => T | undefined | null | false, timeoutMs?: number): Promise<T>;
  close(): void;
}

export async function openFeed(baseUrl: string): Promise<Feed> {
  const abort = new AbortController();
  const res = await fetch(new URL('/api/events', baseUrl), { signal: abort.signal, headers: { accept: 'text/event-stream' } });
  if (!res.ok || !res.body) throw new Error(`events: HTTP ${res.status}`);
  const state: FeedState = {};
  const waiters = new Set<() => void>();
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let snapshotSeen!: () => void;
  const snapshot = new Promise<void>((r) => (snapshotSeen = r));
  void (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(frame)?.[1];
          const data = /^data: (.*)$/m.exec(frame)?.[1];
          if (!event || data === undefined) continue;
          const parsed = JSON.parse(data) as unknown;
          if (event === 'snapshot') {
            Object.assign(state, parsed);
            snapshotSeen();
          } else if (event === 'metrics') {
            state['metrics'] = [...((state['metrics'] as unknown[]) ?? []), parsed];
          } else {
            state[event] = parsed;
          }
          for (const w of [...waiters]) w();
        }
      }
    } catch {
      // aborted by close()
    }
  })();
  await snapshot;
  return {
    state,
    until(what, check, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const test = () => {
          let v;
          try {
            v = check(state);
          } catch {
            v = undefined;
          }
          if (v) {
            waiters.delete(test);
            clearTimeout(timer);
            resolve(v);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(test);
          reject(new Error(`timed out waiting for ${what}; state: ${JSON.stringify(state).slice(0, 2000)}`));
        }, timeoutMs);
        waiters.add(test);
        test();
      });
    },
    close() {
      abort.abort();
    },
  };
}
