/**
 * Stream retention (DESIGN.md section 2): a partition stream is trimmed only
 * below what every consumer group has acknowledged, so what goes is already in
 * the live read models and in the history. Until every group exists (the
 * history role not started yet), a stream is left whole.
 */
import type { RedisClient } from '../../platform/redis/client.ts';
import { compareStreamIds, CONSUMER_GROUPS, streamKey, type ConsumerGroup } from '../../shared/streams.ts';

export interface TrimOptions {
  groups?: readonly ConsumerGroup[];
  /** Entries added at or after this time (ms) stay whatever was acknowledged: a recent window kept on the bus. */
  keepSince?: number;
}

/** Trims these partition streams below their oldest entry not yet acknowledged by some group; returns entries removed. */
export async function trimAcknowledged(redis: RedisClient, partitions: Iterable<number>, options: TrimOptions = {}): Promise<number> {
  const { groups = Object.values(CONSUMER_GROUPS), keepSince } = options;
  let removed = 0;
  for (const partition of partitions) {
    const key = streamKey(partition);
    let keep = await oldestToKeep(redis, key, groups);
    if (keep === undefined) continue;
    // Stream ids start with the time the entry was added.
    if (keepSince !== undefined && compareStreamIds(`${keepSince}-0`, keep) < 0) keep = `${keepSince}-0`;
    removed += await redis.xTrim(key, 'MINID', keep);
  }
  return removed;
}

/**
 * The first id some group still needs: its oldest pending entry, or, with none
 * pending, its last delivered one (everything before it is acknowledged; keeping
 * that one entry costs nothing). Undefined when a group is missing.
 */
async function oldestToKeep(redis: RedisClient, key: string, groups: readonly ConsumerGroup[]): Promise<string | undefined> {
  if (!(await redis.exists(key))) return undefined;
  const info = new Map((await redis.xInfoGroups(key)).map((g) => [String(g.name), g]));
  let keep: string | undefined;
  for (const name of groups) {
    const group = info.get(name);
    if (!group) return undefined;
    let needed = String(group['last-delivered-id']);
    if (Number(group.pending) > 0) needed = String((await redis.xPending(key, name)).firstId);
    if (keep === undefined || compareStreamIds(needed, keep) < 0) keep = needed;
  }
  return keep;
}
