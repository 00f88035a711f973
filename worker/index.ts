/** The worker runtime's public surface. */
export { startWorker, type Worker, type WorkerOptions } from './runtime.ts';
export type { WorkerEvent, WorkerEventListener } from './worker-events.ts';
export type { PartitionHost, PartitionRunOptions } from './partitions/partition-host.ts';
