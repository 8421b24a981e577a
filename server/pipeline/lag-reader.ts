/**
 * Consumer lag, read from Redis when /metrics is scraped: per consumer group,
 * the entries it has not acknowledged (not yet delivered, or delivered and
 * pending) and the age of the oldest; per projection, the entries after its
 * checkpoint and the age of the oldest; the length of dead-letter streams.
 *
 * Cheap whatever the backlog: at most three round trips (node-redis pipelines
 * the commands sent together), a few commands per partition, and replies of
 * O(1) size except one XPENDING range in the rare case that a projection's
 * checkpoint lies inside the pending entries (after a crash left more than one
 * batch pending). XINFO GROUPS gives `lag` and `pending` (Redis 7:
 * https://redis.io/docs/latest/commands/xinfo-groups/). An entry's age is
 * read from its stream id, whose first part is the ms Redis added it at.
 */
import type { RedisClient } from '../../platform/redis/client.ts';
import { checkpointKey, compareStreamIds, CONSUMER_GROUPS, deadLetterKey, streamKey, type ConsumerGroup } from '../../shared/streams.ts';

/** Pending entries listed at most per partition, in the rare case above. */
const PENDING_LIST_CAP = 10_000;
/** Undelivered entries counted at most per partition when Redis cannot tell the lag (XDEL or XGROUP SETID made it unknown). */
const UNDELIVERED_COUNT_CAP = 100;

export interface Lag {
  /** Entries not yet applied (projection) or acknowledged (group), over all partitions. */
  entries: number;
  /** Age of the oldest of them in its partition, the largest over partitions; 0 with none. */
  seconds: number;
}

export interface GroupLag extends Lag {
  /** Of those entries, the ones delivered to a consumer and not acknowledged. */
  pending: number;
}

export interface LagReading {
  groups: Map<ConsumerGroup, GroupLag>;
  /** The same per partition, with the stream's length. */
  partitions: Array<{ partition: number; length: number; groups: Map<ConsumerGroup, GroupLag> }>;
  projections: Map<string, Lag>;
  /** Entries per dead-letter stream, by its name (deadLetterKey). */
  deadLetters: Map<string, number>;
}

export interface LagQuery {
  partitions: number;
  groups: readonly ConsumerGroup[];
  /** Projections whose checkpoints to read (they consume with the live group); none without the projector role. */
  projections: readonly string[];
  deadLetters: readonly string[];
  /** Now, in ms since the epoch. */
  now: number;
}

/** Where one group stands in one partition. */
interface GroupPosition {
  pending: number;
  firstPending?: string;
  lastPending?: string;
  undelivered: number;
  firstUndelivered?: string;
}

export async function readLag(redis: RedisClient, query: LagQuery): Promise<LagReading> {
  const partitions = Array.from({ length: query.partitions }, (_, p) => p);
  const [perPartition, deadLetters] = await Promise.all([
    Promise.all(partitions.map((p) => readPartition(redis, p, query))),
    Promise.all(query.deadLetters.map(async (name) => [name, await redis.xLen(deadLetterKey(name))] as const)),
  ]);
  const reading: LagReading = {
    groups: new Map(query.groups.map((g) => [g, { entries: 0, pending: 0, seconds: 0 }])),
    projections: new Map(query.projections.map((name) => [name, { entries: 0, seconds: 0 }])),
    deadLetters: new Map(deadLetters),
    partitions: [],
  };
  perPartition.forEach((partition, p) => {
    const groups = new Map<ConsumerGroup, GroupLag>();
    for (const [group, position] of partition.groups) {
      const lag = {
        entries: position.undelivered + position.pending,
        pending: position.pending,
        seconds: ageSeconds(position.firstPending ?? position.firstUndelivered, query.now),
      };
      groups.set(group, lag);
      const total = reading.groups.get(group)!;
      total.entries += lag.entries;
      total.pending += lag.pending;
      total.seconds = Math.max(total.seconds, lag.seconds);
    }
    reading.partitions.push({ partition: p, length: partition.length, groups });
    for (const [name, lag] of partition.projections) {
      const total = reading.projections.get(name)!;
      total.entries += lag.entries;
      total.seconds = Math.max(total.seconds, ageSeconds(lag.oldest, query.now));
    }
  });
  return reading;
}

interface PartitionLag {
  length: number;
  groups: Map<ConsumerGroup, GroupPosition>;
  projections: Map<string, { entries: number; oldest?: string }>;
}

async function readPartition(redis: RedisClient, partition: number, query: LagQuery): Promise<PartitionLag> {
  const key = streamKey(partition);
  // Round 1: the groups and length of the stream, and the projections' checkpoints (one hash slot: one MGET).
  const [infos, length, checkpoints] = await Promise.all([
    groupsOf(redis, key),
    redis.xLen(key),
    query.projections.length > 0 ? redis.mGet(query.projections.map((name) => checkpointKey(name, partition))) : Promise.resolve([]),
  ]);
  // Round 2: where each group stands.
  const positions = await Promise.all(query.groups.map(async (group) => {
    const info = infos.find((g) => String(g.name) === group);
    return info ? [group, await positionOf(redis, key, group, info)] as const : undefined;
  }));
  const groups = new Map(positions.filter((p) => p !== undefined));
  const live = groups.get(CONSUMER_GROUPS.live);
  const projections = new Map<string, { entries: number; oldest?: string }>();
  if (!live) return { length, groups, projections };
  // Round 3, rarely: pending entries after checkpoints that lie inside the pending range.
  const applied = query.projections.map((name, i) => ({ name, checkpoint: checkpoints[i] ? String(checkpoints[i]) : '0-0' }));
  const inside = applied.filter(({ checkpoint }) => live.pending > 0
    && compareStreamIds(checkpoint, live.firstPending!) >= 0 && compareStreamIds(checkpoint, live.lastPending!) < 0);
  const listed = inside.length > 0
    ? (await redis.xPendingRange(key, CONSUMER_GROUPS.live, `(${inside.map((a) => a.checkpoint).sort(compareStreamIds)[0]}`, '+',
      Math.min(live.pending, PENDING_LIST_CAP))).map((entry) => String(entry.id))
    : [];
  for (const { name, checkpoint } of applied) {
    if (live.pending === 0 || compareStreamIds(checkpoint, live.lastPending!) >= 0) {
      // Applied every delivered entry: behind by what the group has not read yet.
      projections.set(name, { entries: live.undelivered, oldest: live.firstUndelivered });
    } else if (compareStreamIds(checkpoint, live.firstPending!) < 0) {
      projections.set(name, { entries: live.pending + live.undelivered, oldest: live.firstPending });
    } else {
      const after = listed.filter((id) => compareStreamIds(id, checkpoint) > 0);
      projections.set(name, { entries: after.length + live.undelivered, oldest: after[0] ?? live.firstUndelivered });
    }
  }
  return { length, groups, projections };
}

type GroupInfo = Awaited<ReturnType<RedisClient['xInfoGroups']>>[number];

/** The groups of a stream; none while the stream does not exist (nothing was ever appended to the partition). */
async function groupsOf(redis: RedisClient, key: string): Promise<GroupInfo[]> {
  try {
    return await redis.xInfoGroups(key);
  } catch (error) {
    if (error instanceof Error && /no such key/i.test(error.message)) return [];
    throw error;
  }
}

async function positionOf(redis: RedisClient, key: string, group: ConsumerGroup, info: GroupInfo): Promise<GroupPosition> {
  // null when Redis cannot tell (entries deleted with XDEL, or the group moved with XGROUP SETID).
  const lag = info.lag as number | null;
  const [summary, undelivered] = await Promise.all([
    Number(info.pending) > 0 ? redis.xPending(key, group) : undefined,
    lag === 0 ? [] : redis.xRange(key, `(${String(info['last-delivered-id'])}`, '+', { COUNT: lag === null ? UNDELIVERED_COUNT_CAP : 1 }),
  ]);
  // The summary's own count: entries acknowledged since XINFO are not pending any more.
  const pending = summary?.firstId && summary.lastId ? { pending: summary.pending, firstPending: summary.firstId, lastPending: summary.lastId } : { pending: 0 };
  return { ...pending, undelivered: lag ?? undelivered.length, firstUndelivered: undelivered[0]?.id };
}

/** Seconds since Redis added the entry with this id; 0 without one. */
function ageSeconds(id: string | undefined, now: number): number {
  if (id === undefined) return 0;
  return Math.max(0, now - Number(id.slice(0, id.indexOf('-')))) / 1000;
}
