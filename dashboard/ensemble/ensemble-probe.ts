/**
 * The ensemble view's source: every `intervalMs` it asks each member of the
 * connect string `srvr` and `mntr` (the one periodic probe the dashboard
 * makes: server statistics have no watch). Listeners hear each new sample.
 * The members the connect string leaves out are found through `conf`'s
 * membership (where the word is allowed), so `--connect` naming one member
 * still shows the whole ensemble.
 */
import type { Logger } from 'pino';
import { parseConnectString, type MemberAddress } from './connect-string.ts';
import { sendFourLetterWord } from './four-letter-client.ts';
import { parseConf, parseMntr, parseSrvr, type MemberStats } from './four-letter-parse.ts';

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
  const named = parseConnectString(opts.connect);
  /** The connect string's members, then those `conf` named besides them. */
  let members = named;
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

  /**
   * The connect string's members, then the others `conf`'s membership names:
   * by server id, so a member the connect string names by another address
   * (localhost for 127.0.0.1) is not listed twice. Null when no member says.
   */
  async function membership(sample: MemberSample[]): Promise<MemberAddress[] | null> {
    const key = (m: MemberAddress): string => `${m.host}:${m.port}`;
    const isNamed = new Set(named.map(key));
    const confs = await Promise.all(
      sample.filter((m) => m.up && isNamed.has(key(m))).map(async (m) => parseConf(await sendFourLetterWord(m.host, m.port, 'conf').catch(() => ''))),
    );
    const listed = confs.find((c) => c.members.length > 0)?.members;
    if (!listed) return null;
    const namedIds = new Set(confs.map((c) => c.serverId));
    return [...named, ...listed.filter((m) => !namedIds.has(m.id) && !isNamed.has(key(m))).map((m) => ({ host: m.host, port: m.port }))];
  }

  async function probeAll(): Promise<MemberSample[]> {
    let sample = await Promise.all(members.map(probeOne));
    const next = await membership(sample);
    if (next !== null) {
      const had = new Map(sample.map((m) => [`${m.host}:${m.port}`, m]));
      members = next;
      // Found now: probed in this round too, so a one-shot probe (drover status) shows them.
      sample = await Promise.all(members.map((m) => had.get(`${m.host}:${m.port}`) ?? probeOne(m)));
    }
    return sample;
  }

  function probe(): Promise<MemberSample[]> {
    inflight ??= probeAll().then((sample) => {
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
