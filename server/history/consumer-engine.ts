/**
 * What the history writer needs of the consumer-group engine: partition leases,
 * fenced pull-based reads, group creation and backoff. The engine lives in
 * projections/engine, which server/ may not import (.dependency-cruiser.cjs:
 * server never imports projection internals), so the composition root
 * (server/eventdeck.ts, `consumerEngine`) hands it over through this port.
 * The shapes match the engine's classes structurally; nothing here is copied.
 */
import type { Observable } from 'rxjs';
import type { RedisClient } from '../../platform/redis/client.ts';
import type { ConsumerGroup } from '../../shared/streams.ts';

/** One Redis stream entry: its id ("ms-seq") and its fields. */
export interface StreamEntry {
  id: string;
  message: Record<string, string>;
}

export interface BackoffPolicy {
  baseMs: number;
  factor: number;
  capMs: number;
}

/** The partitions this process owns in one group, renewed by tick(). */
export interface PartitionOwnership {
  readonly owned$: Observable<ReadonlySet<number>>;
  readonly owned: ReadonlySet<number>;
  tick(): Promise<void>;
  release(): Promise<void>;
}

/** Next batch of one partition (pending entries of a previous owner first); [] after an idle wait. */
export interface BatchReader {
  next(): Promise<StreamEntry[]>;
}

export interface ConsumerEngine {
  leases(redis: RedisClient, options: {
    group: ConsumerGroup; partitions: number; ownerId: string; ttlMs: number; now: () => number;
  }): PartitionOwnership;
  /** A reader on a connection of its own (it blocks). */
  reader(connection: RedisClient, partition: number, options: {
    group: ConsumerGroup; owner: string; batchSize: number; blockMs: number; pendingIdleMs: number; now: () => number;
  }): BatchReader;
  /** Creates the group at the start of the stream unless it exists. */
  ensureGroup(redis: RedisClient, stream: string, group: string): Promise<void>;
  backoffMs(policy: BackoffPolicy, attempt: number, random: () => number): number;
  /** True for the reader's "another process owns this partition now". */
  isLeaseLost(error: unknown): boolean;
}
