/** Majority quorums over the voting members. */
export function quorumSize(voters: number): number {
  return Math.floor(voters / 2) + 1;
}

export function isQuorum(acks: ReadonlySet<number>, voters: readonly number[]): boolean {
  let n = 0;
  for (const v of voters) if (acks.has(v)) n++;
  return n >= quorumSize(voters.length);
}
