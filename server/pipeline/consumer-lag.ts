/**
 * How far a consumer group is behind, over all partition streams: entries not
 * yet acknowledged (delivered and pending, or not delivered yet) and the age
 * of the oldest of them, by the time in its stream id (when ingest appended it).
 */
import type { RedisClient } from '../../platform/redis/client.ts';
import { streamKey, type ConsumerGroup } from '../../shared/streams.ts';

export interface GroupLag {
  /** Entries appended and not yet acknowledged. */
  entries: number;
  /** Age of the oldest of them, in seconds (0 when there is none). */
  seconds: number;
}

/** The group's lag, or undefined when no partition has the group (its role never ran). */
export async function consumerLag(redis: RedisClient, group: ConsumerGroup, partitions: number, now: number): Promise<GroupLag | undefined> {
  const perPartition = await Promise.all(Array.from({ length: partitions }, (_, p) => partitionLag(redis, streamKey(p), group, now)));
  const known = perPartition.filter((l): l is GroupLag => l !== undefined);
  if (known.length === 0) return undefined;
  return {
    entries: known.reduce((sum, l) => sum + l.entries, 0),
    seconds: Math.max(...known.map((l) => l.seconds)),
  };
}

async function partitionLag(redis: RedisClient, stream: string, group: string, now: number): Promise<GroupLag | undefined> {
  const groups = await redis.xInfoGroups(stream).catch(() => []); // no stream yet: no group either
  const info = groups.find((g) => g.name === group);
  if (!info) return undefined;
  const undelivered = Number(info.lag ?? 0);
  const pending = Number(info.pending);
  let oldestId: string | undefined;
  if (pending > 0) oldestId = (await redis.xPending(stream, group)).firstId ?? undefined;
  else if (undelivered > 0) oldestId = (await redis.xRange(stream, `(${info['last-delivered-id']}`, '+', { COUNT: 1 }))[0]?.id;
  const seconds = oldestId ? Math.max(0, (now - Number(oldestId.split('-')[0])) / 1000) : 0;
  return { entries: undelivered + pending, seconds: Math.round(seconds * 10) / 10 };
}
