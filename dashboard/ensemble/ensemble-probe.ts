/**
 * The ensemble view's source: every `intervalMs` it asks each member of the
 * connect string `srvr` and `mntr` (the one periodic probe the dashboard
 * makes: server statistics have no watch). Listeners hear each new sample.
 */
import type { Logger } from 'pino';
import { parseConnectString, type MemberAddress } from './connect-string.ts';
import { sendFourLetterWord } from './four-letter-client.ts';
import { parseMntr, parseSrvr, type MemberStats } from './four-letter-parse.ts';

export interface MemberSample extends MemberAddress {
  /** Up when it answered `srvr`; `error` says why not. */
  up: boolean;
  error?: string;
  stats?: MemberStats;
  /** How long the srvr round trip took, ms (the dashboard's view of latency). */
  probeMs?: number;
  at: number;
}

export interface EnsembleProbe {
  latest(): MemberSample[];
  /** Probes now (also what the timer does); resolves with the new sample. */
  probe(): Promise<MemberSample[]>;
  onSample(listener: (members: MemberSample[]) => void): () => void;
  stop(): void;
}

export function startEnsembleProbe(opts: { connect: string; intervalMs?: number; logger: Logger }): EnsembleProbe {
  const members = parseConnectString(opts.connect);
  const listeners = new Set<(m: MemberSample[]) => void>();
  let latest: MemberSample[] = members.map((m) => ({ ...m, up: false, error: 'not probed yet', at: 0 }));
  let stopped = false;
  let inflight: Promise<MemberSample[]> | null = null;

  async function probeOne(m: MemberAddress): Promise<MemberSample> {
    const started = performance.now();
    try {
      const srvr = await sendFourLetterWord(m.host, m.port, 'srvr');
      const probeMs = performance.now() - started;
      if (!srvr.includes('Mode:')) {
        // ZooKeeper answers this when the word is not whitelisted or the member is not serving.
        return { ...m, up: false, error: srvr.trim() || 'no answer to srvr', at: Date.now() };
      }
      let stats = parseSrvr(srvr);
      const mntr = await sendFourLetterWord(m.host, m.port, 'mntr').catch(() => '');
      stats = parseMntr(mntr, stats);
      return { ...m, up: true, stats, probeMs: Math.round(probeMs * 100) / 100, at: Date.now() };
    } catch (err) {
      return { ...m, up: false, error: err instanceof Error ? err.message : String(err), at: Date.now() };
    }
  }

  function probe(): Promise<MemberSample[]> {
    inflight ??= Promise.all(members.map(probeOne)).then((sample) => {
      inflight = null;
      latest = sample;
      for (const l of listeners) l(sample);
      return sample;
    });
    return inflight;
  }

  const timer = setInterval(() => {
    if (!stopped) void probe().catch((err: unknown) => opts.logger.warn({ err }, 'ensemble probe failed'));
  }, opts.intervalMs ?? 2000);
  timer.unref();
  void probe();

  return {
    latest: () => latest,
    probe,
    onSample(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
