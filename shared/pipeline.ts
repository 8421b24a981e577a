/**
 * The pipeline view (`GET /api/views/pipeline`, live as view "pipeline"): how
 * events move through EventDeck right now. Read from Redis, so any api process
 * shows the whole deployment: activity that every process records per second,
 * the consumer groups' lag, partition leases and dead-letter streams.
 */
import type { ConsumerGroup } from './streams.ts';

/** One second of activity over every process. */
export interface PipelineSecond {
  /** RFC 3339, the start of the second. */
  at: string;
  /** Events ingest accepted (duplicates not counted). */
  accepted: number;
  /** Stream entries the live group committed to the read models. */
  applied: number;
  /** Stream entries the history group stored in ClickHouse. */
  stored: number;
  /**
   * Event-to-read-model latency of the entries applied in this second: the upper bound of the
   * histogram bucket the percentile falls in (ms); null with nothing applied.
   */
  latencyP50Ms: number | null;
  latencyP99Ms: number | null;
}

/** Events accepted of one type over the last minute. */
export interface TypeThroughput {
  type: string;
  /** Events in the last 60 complete seconds. */
  lastMinute: number;
  /** lastMinute / 60. */
  perSecond: number;
}

export interface GroupHealth {
  group: ConsumerGroup;
  /** Entries not yet acknowledged (undelivered or pending), over all partitions. */
  lagEntries: number;
  /** Of those, delivered and not acknowledged. */
  pendingEntries: number;
  /** Age of the oldest unacknowledged entry, the largest over partitions; 0 when caught up. */
  lagSeconds: number;
  /** Processes in the group (heartbeat not expired), with the partitions each holds a lease on. */
  owners: Array<{ owner: string; partitions: number[] }>;
}

/** One partition stream and who consumes it. */
export interface PartitionHealth {
  partition: number;
  /** Entries in the stream (trimmed below what both groups acknowledged). */
  length: number;
  groups: Array<{ group: ConsumerGroup; owner: string | null; lagEntries: number }>;
}

export interface ProjectionHealth {
  name: string;
  /** Entries after the projection's checkpoints, over all partitions. */
  lagEntries: number;
  lagSeconds: number;
  /** Entries in its dead-letter stream. */
  deadLetters: number;
}

export interface PipelineState {
  /** The last 120 complete seconds, oldest first (seconds without activity included, with zeros). */
  seconds: PipelineSecond[];
  /** By type, busiest first; types with no events in the last minute are left out. */
  throughput: TypeThroughput[];
  /** Over the last 60 complete seconds, bucket upper bounds (ms) as in PipelineSecond; null with nothing applied. */
  latency: { p50Ms: number | null; p90Ms: number | null; p99Ms: number | null; samples: number };
  groups: GroupHealth[];
  partitions: PartitionHealth[];
  projections: ProjectionHealth[];
  /** Entries per dead-letter stream (`eventdeck:dlq:<name>`: each projection, and "history"), and their sum. */
  deadLetters: { total: number; byStream: Record<string, number> };
}
