/** Majority quorums over the voting members. */
export function quorumSize(voters: number): number {
  return Math.floor(voters / 2) + 1;
}

export function isQuorum(acks: ReadonlySet<number>, voters: readonly number[]): boolean {
  let n = 0;
  for (const v of voters) if (acks.has(v)) n++;
  return n >= quorumSize(voters.length);
}

/**
 * One configuration of the ensemble as the peer sees it (dynamic
 * reconfiguration, ADR 0011): who votes, who observes, and from which zxid
 * on. `zxid` is the config's version (the zxid of the reconfig txn that
 * made it; 0 for the one in zoo.cfg). `data` is the config's text, opaque
 * to the peer: it travels with a sync so a learner adopts its leader's.
 */
export interface QuorumConfig {
  zxid: number;
  voters: readonly number[];
  observers: readonly number[];
  data: Buffer | null;
}

/**
 * Joint quorums: while a reconfig is pending, a decision needs a majority of
 * every configuration in play (the committed one and the proposed one), as
 * ZooKeeper's QuorumVerifierAcksetPairs require.
 */
export function isQuorumOfAll(ids: ReadonlySet<number>, configs: readonly QuorumConfig[]): boolean {
  for (const c of configs) if (!isQuorum(ids, c.voters)) return false;
  return configs.length > 0;
}
