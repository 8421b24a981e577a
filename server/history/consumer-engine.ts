/**
 * What the history writer needs of the consumer-group engine: its partitions
 * (leases and one pull-based loop each, with fenced reads) and backoff. The engine lives in
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

/** Next batch of one partition (this consumer's pending entries first); [] after an idle wait. */
export interface BatchReader {
  next(): Promise<StreamEntry[]>;
}

/** One round of a lane's loop (read a batch of its partitions, handle it); see projections/engine/owned-partitions.ts. */
export interface PartitionWork {
  round(lane: readonly number[], reader: BatchReader, stopped: () => boolean): Observable<unknown>;
  /** Errors that end a partition's loop quietly, besides a lost lease. */
  ends?(error: unknown): boolean;
}

/** A group's share of the partitions in this process: leases and one loop per owned partition. */
export interface OwnedPartitionsPort {
  readonly leases: { readonly owned: ReadonlySet<number> };
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Waits before a retry after an infrastructure error (throws what must end the loop instead). */
  backoffAfter(what: string, error: Error, count: number): Observable<number>;
}

export interface ConsumerEngine {
  ownedPartitions(redis: RedisClient, options: {
    group: ConsumerGroup; partitions: number; ownerId: string; leaseTtlMs: number; batchSize: number; blockMs: number;
    pendingIdleMs: number; retry: BackoffPolicy; now: () => number; random: () => number; log: (line: string) => void;
  }, work: PartitionWork): OwnedPartitionsPort;
  backoffMs(policy: BackoffPolicy, attempt: number, random: () => number): number;
}
