/** How far a consumer group is behind, for tests that wait for it or watch it grow. */
import type { RedisClient } from '../platform/redis/client.ts';
import { streamKey, type ConsumerGroup } from '../shared/streams.ts';

/** Entries of a group not yet acknowledged over all partitions: never read (lag) plus read and pending. */
export async function groupBacklog(client: RedisClient, group: ConsumerGroup, partitions: number): Promise<number> {
  let total = 0;
  for (let p = 0; p < partitions; p++) {
    const info = (await client.xInfoGroups(streamKey(p))).find((g) => g.name === group);
    total += Number(info?.lag ?? 0) + Number(info?.pending ?? 0);
  }
  return total;
}
