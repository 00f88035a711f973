/** A server under test: Drover or Apache ZooKeeper, started fresh by a harness. */
export interface TargetOptions {
  tickTime?: number;
  /** e.g. 'super:D/InIHSb7yEEbrWz8b9l71RjZJU=' (the password `test`). */
  superDigest?: string;
  extendedTypesEnabled?: boolean;
  containerCheckIntervalMs?: number;
  maxClientCnxns?: number;
  /** Apache ZooKeeper's JVM heap (-Xmx), default 256 MB (benchmarks holding a million znodes need more). */
  heapMb?: number;
}

export interface Target {
  name: 'zookeeper' | 'drover';
  host: string;
  port: number;
  connectString: string;
  stop(): Promise<void>;
}

export type StartTarget = (opts: TargetOptions) => Promise<Target>;
