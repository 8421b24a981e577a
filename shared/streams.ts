/**
 * Names on the bus: partition streams, consumer groups, entry fields.
 * Partitions are separate stream keys with a hash tag, so a Redis Cluster can spread them.
 */

/** Every key EventDeck writes starts with this. */
export const KEY_PREFIX = 'eventdeck';

/** The consumer groups on every partition stream (DESIGN.md section 2). */
export const CONSUMER_GROUPS = { live: 'live', history: 'history' } as const;
export type ConsumerGroup = (typeof CONSUMER_GROUPS)[keyof typeof CONSUMER_GROUPS];

/** Fields of one stream entry. */
export const ENTRY_FIELDS = {
  /** the accepted CloudEvent as JSON */
  event: 'event',
  /** when ingest accepted it, ms since the epoch (for end-to-end latency) */
  acceptedAt: 'acceptedAt',
} as const;

/** The stream key of partition p, e.g. `eventdeck:stream:{p3}`. */
export function streamKey(partition: number): string {
  return `${KEY_PREFIX}:stream:{p${partition}}`;
}

/** The stream keys of all P partitions. */
export function streamKeys(partitions: number): string[] {
  return Array.from({ length: partitions }, (_, p) => streamKey(p));
}

/**
 * Which partition a partition key belongs to: 32-bit FNV-1a over the key's
 * UTF-16 code units, modulo P. Stable across processes, languages and releases.
 */
export function partitionOf(partitionKey: string, partitions: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < partitionKey.length; i++) {
    hash ^= partitionKey.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % partitions;
}

/** Compares two stream ids ("ms-seq"): negative, zero or positive. */
export function compareStreamIds(a: string, b: string): number {
  if (a === b) return 0;
  // On the projector's hot path: two slices, no arrays.
  const aDash = a.indexOf('-');
  const bDash = b.indexOf('-');
  const aMs = Number(aDash < 0 ? a : a.slice(0, aDash));
  const bMs = Number(bDash < 0 ? b : b.slice(0, bDash));
  if (aMs !== bMs) return aMs - bMs;
  return (aDash < 0 ? 0 : Number(a.slice(aDash + 1))) - (bDash < 0 ? 0 : Number(b.slice(bDash + 1)));
}

/** The dead-letter stream of one projection: events it gave up on, with the error. */
export function deadLetterKey(projection: string): string {
  return `${KEY_PREFIX}:dlq:${projection}`;
}

/** Fields of a dead-letter entry. */
export const DEAD_LETTER_FIELDS = ['event', 'error', 'attempts', 'streamId', 'partition', 'failedAt'] as const;

/** Last stream id a projection applied in one partition (written with its changes). */
export function checkpointKey(projection: string, partition: number): string {
  return `${KEY_PREFIX}:checkpoint:${projection}:{p${partition}}`;
}

/** Lease on a partition for one consumer group: the owner's id, with a TTL. */
export function leaseKey(group: ConsumerGroup, partition: number): string {
  return `${KEY_PREFIX}:lease:${group}:{p${partition}}`;
}

/** ZSET of the live members of a consumer group, scored by when their heartbeat expires. */
export function membersKey(group: ConsumerGroup): string {
  return `${KEY_PREFIX}:members:${group}`;
}
