/**
 * ZAB under a seeded simulation: crashes and restarts, asymmetric
 * partitions, message loss (a broken link), duplicated messages, clogged
 * links, reordered election messages, skewed and pausing clocks, lost
 * un-fsynced writes, snapshots with log compaction (so rejoining members
 * need SNAP). Members replicate the production state (data tree and
 * sessions) from production txns, and session clients open and close
 * sessions with ephemerals (zab-cluster.ts). Every step checks one leader
 * per epoch and one value per committed zxid, that nothing a closed session
 * asked for is applied and that no ephemeral outlives its session's
 * closeSession; the end heals everything and checks
 * that every acknowledged write is on every member, in one order, that every
 * member's state is the same, and that the key-value clients' history
 * (writes and synced reads) is linearizable.
 *
 * DROVER_SEED=n replays one seed; DROVER_SIM_SEEDS=n runs more, from
 * DROVER_SIM_BASE; DROVER_SIM_INTENSE=1 uses the harsher mixes;
 * DROVER_SIM_RECONFIG=1 adds spare members and online reconfigurations
 * (ADR 0011) to the mix;
 * DROVER_SIM_STEPS=n runs each seed's faulty phase for n steps. A failing
 * seed's message names the command that replays it. `npm test` runs
 * DEFAULT_SEEDS of the default mix, INTENSE_SEEDS of the harsher one and the
 * seeds that once failed; batches of thousands run out of band (issue 12).
 */
import { describe, it, expect } from 'vitest';
import { ZabCluster, mulberry32, type FaultMix } from './zab-cluster.ts';
import { ErrorCode } from '../../coordinator/protocol/error-codes.ts';

function mixFor(seed: number): FaultMix {
  const r = mulberry32(seed ^ 0x5eed);
  return {
    members: r() < 0.7 ? 3 : 5,
    lossRate: r() * 0.03,
    crashRate: r() * 0.02,
    partitionRate: r() * 0.01,
    maxDelay: Math.floor(r() * 4),
    maxFsyncDelay: Math.floor(r() * 3),
    writeRate: 0.3 + r() * 0.7,
    readRate: r() * 0.6,
    snapEvery: r() < 0.6 ? 3 + Math.floor(r() * 30) : 0,
    dupRate: r() < 0.5 ? r() * 0.05 : 0,
    clogRate: r() * 0.01,
    clockSkew: r() * 0.5,
    pauseRate: r() * 0.005,
    observers: r() < 0.3 ? 1 + Math.floor(r() * 2) : 0,
  };
}

/** Harsher: more loss, crashes, duplicates, clogs and pauses, longer delays, more observers, tiny snapshot intervals. */
function intenseMixFor(seed: number): FaultMix {
  const r = mulberry32(seed ^ 0xabc);
  return {
    members: r() < 0.5 ? 3 : 5,
    lossRate: r() * 0.08,
    crashRate: r() * 0.05,
    partitionRate: r() * 0.03,
    maxDelay: Math.floor(r() * 6),
    maxFsyncDelay: Math.floor(r() * 4),
    writeRate: 0.5 + r() * 0.5,
    readRate: r(),
    snapEvery: 2 + Math.floor(r() * 10),
    dupRate: r() * 0.2,
    clogRate: r() * 0.03,
    clockSkew: r() * 0.5,
    pauseRate: r() * 0.02,
    observers: Math.floor(r() * 3),
  };
}

/**
 * Dynamic reconfiguration (ADR 0011) under the default mix's faults: one or
 * two spare members outside the configuration, and a leader that adds,
 * removes, demotes and promotes members (itself too) as it runs. Its own
 * seeds, so the other mixes' seeds replay as they always did.
 */
function reconfigMixFor(seed: number): FaultMix {
  const r = mulberry32(seed ^ 0xc0f1);
  return { ...mixFor(seed), spares: 1 + Math.floor(r() * 2), reconfigRate: 0.01 + r() * 0.04, ...(r() < 0.5 ? { snapEvery: 3 + Math.floor(r() * 20) } : {}) };
}

function intenseReconfigMixFor(seed: number): FaultMix {
  const r = mulberry32(seed ^ 0xc0f2);
  return { ...intenseMixFor(seed), spares: 1 + Math.floor(r() * 2), reconfigRate: 0.01 + r() * 0.04 };
}

const INTENSE_STEPS = 600;
/** Harsher-mix seeds every `npm test` runs (1..n), beside DEFAULT_SEEDS of the default mix. */
const INTENSE_SEEDS = 3000;
const DEFAULT_SEEDS = 500;
const DEFAULT_STEPS = 400;
/** Seeds of the reconfiguration mixes every `npm test` runs (1..n). */
const RECONFIG_SEEDS = 200;
const INTENSE_RECONFIG_SEEDS = 200;

function runSeed(seed: number, steps: number, intense = false, reconfig = false): ZabCluster {
  const mix = reconfig ? (intense ? intenseReconfigMixFor(seed) : reconfigMixFor(seed)) : intense ? intenseMixFor(seed) : mixFor(seed);
  const c = new ZabCluster(seed, mix);
  try {
    for (let i = 0; i < steps; i++) c.step(true);
    c.finish(3000);
  } catch (err) {
    const e = err as Error;
    const customSteps = steps !== (intense ? INTENSE_STEPS : DEFAULT_STEPS) ? `DROVER_SIM_STEPS=${steps} ` : '';
    const replay = `${intense ? 'DROVER_SIM_INTENSE=1 ' : ''}${reconfig ? 'DROVER_SIM_RECONFIG=1 ' : ''}${customSteps}DROVER_SEED=${seed}`;
    e.message = `seed ${seed} (replay: ${replay} npx vitest run test/sim/zab-sim.test.ts) mix ${JSON.stringify(mix)} at step ${c.now} [${c.describe()}]: ${e.message}`;
    throw e;
  }
  return c;
}

describe('ZAB in a seeded simulation', () => {
  const only = process.env['DROVER_SEED'];
  const count = Number(process.env['DROVER_SIM_SEEDS'] ?? DEFAULT_SEEDS);
  const base = only ? Number(only) : Number(process.env['DROVER_SIM_BASE'] ?? 1);
  const seeds = only ? [Number(only)] : Array.from({ length: count }, (_, i) => base + i);
  const intense = process.env['DROVER_SIM_INTENSE'] === '1';
  const reconfig = process.env['DROVER_SIM_RECONFIG'] === '1';

  it(`keeps every acknowledged write and one history (${seeds.length} seeds)`, () => {
    let acked = 0;
    let reads = 0;
    let snaps = 0;
    const sessions = { opened: 0, closed: 0, ephemeralsCreated: 0, refusedExpired: 0, closedWithEphemerals: 0 };
    const steps = Number(process.env['DROVER_SIM_STEPS'] ?? (intense ? INTENSE_STEPS : DEFAULT_STEPS));
    for (const seed of seeds) {
      const c = runSeed(seed, steps, intense, reconfig);
      acked += c.acked.size;
      reads += c.readsAnswered;
      snaps += c.snapSyncs;
      for (const k of Object.keys(sessions) as (keyof typeof sessions)[]) sessions[k] += c.sessionStats[k];
    }
    // The runs did real work: writes acknowledged and reads answered under faults, some members caught up by SNAP.
    // Only a batch must: one seed may fairly get almost nothing done under its
    // faults (DROVER_SEED=403129 with the harsher mix acknowledges 3 writes),
    // and a replay must fail only where the seed did.
    if (!only) {
      expect(acked).toBeGreaterThan(seeds.length * 5);
      expect(reads).toBeGreaterThan(seeds.length);
      expect(snaps).toBeGreaterThan(0);
      // Sessions opened and closed with ephemerals in them, and closed sessions' requests refused (SessionExpired).
      expect(sessions.opened).toBeGreaterThan(seeds.length);
      expect(sessions.closedWithEphemerals).toBeGreaterThan(seeds.length / 2);
      expect(sessions.refusedExpired).toBeGreaterThan(seeds.length / 10);
    }
  }, 120_000);

  it(`survives harsher fault mixes too (${INTENSE_SEEDS} seeds; DROVER_SIM_INTENSE=1 runs the main test with them)`, () => {
    let acked = 0;
    for (let seed = 1; seed <= INTENSE_SEEDS; seed++) acked += runSeed(seed, INTENSE_STEPS, true).acked.size;
    expect(acked).toBeGreaterThan(INTENSE_SEEDS * 5);
  }, 120_000);

  it(`changes membership online under faults (${RECONFIG_SEEDS} seeds, ${INTENSE_RECONFIG_SEEDS} harsher; DROVER_SIM_RECONFIG=1 runs the main test with them)`, () => {
    let committed = 0;
    let acked = 0;
    for (let seed = 1; seed <= RECONFIG_SEEDS; seed++) {
      const c = runSeed(seed, DEFAULT_STEPS, false, true);
      committed += c.reconfigsCommitted;
      acked += c.acked.size;
    }
    for (let seed = 1; seed <= INTENSE_RECONFIG_SEEDS; seed++) committed += runSeed(seed, INTENSE_STEPS, true, true).reconfigsCommitted;
    // Membership really changed, many times, and writes went on.
    expect(committed).toBeGreaterThan(RECONFIG_SEEDS);
    expect(acked).toBeGreaterThan(RECONFIG_SEEDS * 5);
  }, 120_000);

  // Harsher-mix seeds that failed once (issue 12), replayed as they are. Any
  // change to the peer or the harness reshuffles what a seed exercises (these
  // pass on other paths since), so test/unit/zab/learner.test.ts pins each
  // root cause by hand as well.
  //  - 202603: an observer's rejoin took the sync of the attempt before it
  //    and ignored the leader's next sync, in broadcast by then: a gap in its
  //    proposals. The re-sync of seed 1357 (below) fixed it.
  //  - 301185, 403129: no stable leader in 3000 fault-free steps. Followers
  //    that had acked NEWLEADER gave up after syncLimit while the leader was
  //    still gathering its quorum (it sends nothing before UPTODATE), and
  //    came back having promised its epoch, on which that leader stood down
  //    (ADR 0003): elections without end. A follower now keeps initLimit
  //    until UPTODATE, a leader counts syncLimit from when it establishes,
  //    and the simulated syncLimit outlasts a ping's round trip.
  //  - 300640, 402766 (found in the batches run for it): a Ready taken
  //    before a link broke went out on the next connection, and a learner's
  //    new attempt took a sync planned for its earlier one. What a member
  //    produced for a connection now dies with it (Ready.messages).
  for (const seed of [202603, 301185, 403129, 300640, 402766]) {
    it(`harsher mix, seed ${seed} (issue 12)`, () => {
      runSeed(seed, INTENSE_STEPS, true);
    });
  }

  it('a member down while the leader compacted its log comes back by SNAP', () => {
    const c = new ZabCluster(7, { members: 3, lossRate: 0, crashRate: 0, partitionRate: 0, maxDelay: 1, maxFsyncDelay: 1, writeRate: 1, readRate: 0.5, snapEvery: 10 });
    for (let i = 0; i < 60; i++) c.step(false);
    c.crashMember(3, 1_000_000);
    for (let i = 0; i < 300; i++) c.step(false);
    expect(c.snapSyncs).toBe(0);
    // finish() restarts it, and checks it holds every acknowledged write in the one order.
    c.finish(2000);
    expect(c.snapSyncs).toBeGreaterThan(0);
    expect(c.acked.size).toBeGreaterThan(200);
  });

  it("sessions: ephemerals go with their session on every member, a closed session's create is refused, and a member down meanwhile learns it by SNAP", () => {
    const c = new ZabCluster(13, { members: 3, lossRate: 0, crashRate: 0, partitionRate: 0, maxDelay: 1, maxFsyncDelay: 1, writeRate: 1, readRate: 0.5, snapEvery: 10, sessionRate: 0 });
    for (let i = 0; i < 60; i++) c.step(false);
    const s = c.openSession() as bigint;
    expect(s).not.toBeNull();
    for (let i = 0; i < 20; i++) c.step(false);
    expect(c.createEphemeral(s, '/lease')).toBe('create');
    for (let i = 0; i < 20; i++) c.step(false);
    for (const m of c.voters) expect(c.hasNode(m, '/lease')).toBe(true);
    const down = c.voters.find((v) => v !== c.leaderId()) as number;
    c.crashMember(down, 1_000_000);
    expect(c.closeSession(s)).toBe(true);
    for (let i = 0; i < 20; i++) c.step(false);
    for (const m of c.voters.filter((v) => v !== down)) {
      expect(c.hasNode(m, '/lease')).toBe(false);
      expect(c.hasSession(m, s)).toBe(false);
    }
    // As ZooKeeper: the session is gone for good, so its requests get SessionExpired and change nothing.
    expect(c.createEphemeral(s, '/late')).toBe(ErrorCode.SESSION_EXPIRED);
    // Enough writes that the leader compacts past the close: the member down can only come back by SNAP.
    for (let i = 0; i < 300; i++) c.step(false);
    c.finish(2000);
    expect(c.snapSyncs).toBeGreaterThan(0);
    for (const m of c.voters) {
      expect(c.hasNode(m, '/lease')).toBe(false);
      expect(c.hasNode(m, '/late')).toBe(false);
      expect(c.hasSession(m, s)).toBe(false);
    }
  });

  it('a member restarted from its own snapshot rejoins by DIFF', () => {
    const c = new ZabCluster(11, { members: 3, lossRate: 0, crashRate: 0, partitionRate: 0, maxDelay: 1, maxFsyncDelay: 1, writeRate: 1, snapEvery: 10 });
    for (let i = 0; i < 200; i++) c.step(false);
    c.crashMember(2, 1_000_000);
    c.finish(2000);
    expect(c.snapSyncs).toBe(0);
  });

  it('observers learn every committed write, serve synced reads, and count toward no quorum', () => {
    const c = new ZabCluster(5, { members: 3, observers: 2, lossRate: 0, crashRate: 0, partitionRate: 0, maxDelay: 1, maxFsyncDelay: 1, writeRate: 1, readRate: 1 });
    for (let i = 0; i < 100; i++) c.step(false);
    // Two voters down: the observers do not make a quorum with the last voter.
    const leader = c.leaderId();
    const down = c.voters.filter((v) => v !== leader);
    for (const v of down) c.crashMember(v, 200);
    // Writes a quorum had logged before the crash may still be acknowledged; then nothing more.
    for (let i = 0; i < 30; i++) c.step(false);
    const acked = c.acked.size;
    for (let i = 0; i < 120; i++) c.step(false);
    expect(c.acked.size).toBe(acked);
    expect(c.leaderId()).toBe(-1);
    c.finish(2000);
    expect(c.acked.size).toBeGreaterThan(acked);
    expect(c.observers.every((o) => c.servingAs(o) === 'observing')).toBe(true);
  });

  for (const mode of ['isolated', 'bridge'] as const) {
    it(`a follower cut off (${mode}) and healed rejoins the leader in its epoch; the leader never leaves service`, () => {
      const c = new ZabCluster(3, { members: 3, lossRate: 0, crashRate: 0, partitionRate: 0, maxDelay: 1, maxFsyncDelay: 1, writeRate: 1 });
      for (let i = 0; i < 100; i++) c.step(false);
      const leader = c.leaderId();
      expect(leader).toBeGreaterThan(0);
      const epoch = c.epochOf(leader);
      const [follower, other] = c.voters.filter((v) => v !== leader) as [number, number];
      c.cutLink(follower, leader);
      if (mode === 'isolated') c.cutLink(follower, other);
      // Writes go on all along (writeRate 1); the leader keeps its quorum through the cut and the heal.
      for (let i = 0; i < 60; i++) {
        c.step(false);
        expect(c.servingAs(leader), c.describe()).toBe('leading');
      }
      expect(c.servingAs(follower)).toBe('not serving');
      const acked = c.acked.size;
      c.healLinks();
      for (let i = 0; i < 100 && c.servingAs(follower) !== 'following'; i++) {
        c.step(false);
        expect(c.servingAs(leader), c.describe()).toBe('leading');
      }
      expect(c.servingAs(follower), c.describe()).toBe('following');
      expect(c.epochOf(leader)).toBe(epoch);
      expect(c.acked.size).toBeGreaterThan(acked);
      c.finish(500);
    });
  }

  it("a follower that took an earlier attempt's sync catches up on the leader's next one (seed 1357)", () => {
    // Found once the leader stopped standing down for a follower of its own
    // epoch: a rejoin attempt took the sync of the one before it, and the
    // leader's re-sync met it in broadcast, leaving a gap in its proposals.
    runSeed(1357, DEFAULT_STEPS);
  });

  it('reconfig: a spare replaces a member that is down, the leader removes itself, and the member down comes back knowing', () => {
    const c = new ZabCluster(21, { members: 3, spares: 1, lossRate: 0, crashRate: 0, partitionRate: 0, maxDelay: 1, maxFsyncDelay: 1, writeRate: 1, readRate: 0.5 });
    for (let i = 0; i < 60; i++) c.step(false);
    const leader = c.leaderId();
    const [down, other] = c.voters.filter((v) => v !== leader) as [number, number];
    c.crashMember(down, 1_000_000);
    // The spare (4) learns as a non-voter; a quorum of the new configuration is synced, so it may go.
    expect(c.reconfigure([leader, other, 4], [])).toBe(true);
    for (let i = 0; i < 40; i++) c.step(false);
    expect(c.votersOf(leader)).toEqual([leader, other, 4].sort((a, b) => a - b));
    expect(c.votersOf(4)).toEqual(c.votersOf(leader));
    // Without member 4's vote nothing would commit now (the member down no longer counts).
    const acked = c.acked.size;
    for (let i = 0; i < 20; i++) c.step(false);
    expect(c.acked.size).toBeGreaterThan(acked);
    expect(c.reconfigure([other, 4], [])).toBe(true);
    for (let i = 0; i < 300 && (c.leaderId() === -1 || c.leaderId() === leader); i++) c.step(false);
    expect([other, 4]).toContain(c.leaderId());
    // In no configuration now: it rejoins as a non-voting learner.
    for (let i = 0; i < 300 && c.servingAs(leader) !== 'observing'; i++) c.step(false);
    expect(c.servingAs(leader), c.describe()).toBe('observing');
    expect(c.reconfigsCommitted).toBe(2);
    // finish() restarts the member that was down with the configuration it had; it must learn the new one.
    c.finish(2000);
    expect(c.votersOf(down)).toEqual([other, 4].sort((a, b) => a - b));
  });

  it('a fault-free ensemble elects one leader and commits in order', () => {
    const c = new ZabCluster(42, { members: 3, lossRate: 0, crashRate: 0, partitionRate: 0, maxDelay: 1, maxFsyncDelay: 1, writeRate: 1 });
    for (let i = 0; i < 200; i++) c.step(false);
    c.finish(500);
    expect(c.acked.size).toBeGreaterThan(100);
  });
});

describe('the write-history checker', () => {
  it('rejects a history where a write acknowledged earlier is ordered after a later one', () => {
    const c = new ZabCluster(1, { members: 3, lossRate: 0, crashRate: 0, partitionRate: 0, maxDelay: 0, maxFsyncDelay: 0, writeRate: 0 });
    const history = (c as unknown as { history: Map<number, { invokedAt: number; ackedAt: number }> }).history;
    history.set(1, { invokedAt: 10, ackedAt: 12 });
    history.set(2, { invokedAt: 3, ackedAt: 5 }); // acknowledged before write 1 was invoked, yet ordered after it
    expect(() => c.checkLinearizable()).toThrow(/acknowledged at step 5, before write 1 was invoked/);
    history.set(2, { invokedAt: 11, ackedAt: 13 }); // overlapping: either order is fine
    expect(() => c.checkLinearizable()).not.toThrow();
  });
});
