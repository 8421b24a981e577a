/**
 * Appends accepted events to their partition streams, once per source + id.
 * One Lua call per partition marks each event seen (SET NX with a TTL) and
 * XADDs it only if it was not seen: the check and the append are one atomic
 * step, so a retried request after a timeout never appends twice.
 */
import { eventKey, type CloudEvent } from '../../shared/cloudevent.ts';
import { ENTRY_FIELDS, KEY_PREFIX, partitionOf, streamKey } from '../../shared/streams.ts';
import type { RedisClient } from '../../platform/redis/client.ts';
import { LuaScript } from '../../platform/redis/lua-script.ts';

// KEYS[1] the partition stream; KEYS[2..] the seen-markers, in the stream's hash slot.
// ARGV[1] marker TTL in seconds, ARGV[2] acceptedAt, ARGV[3..] the events as JSON.
const appendOnce = new LuaScript(`
local appended = 0
for i = 2, #KEYS do
  if redis.call('SET', KEYS[i], '1', 'NX', 'EX', ARGV[1]) then
    redis.call('XADD', KEYS[1], '*', '${ENTRY_FIELDS.event}', ARGV[i + 1], '${ENTRY_FIELDS.acceptedAt}', ARGV[2])
    appended = appended + 1
  end
end
return appended
`);

/** The marker that says an event was accepted; it shares the partition's hash tag. */
export function seenKey(partition: number, event: Pick<CloudEvent, 'source' | 'id'>): string {
  return `${KEY_PREFIX}:seen:{p${partition}}:${eventKey(event)}`;
}

export interface AppendResult {
  accepted: number;
  duplicates: number;
}

export interface AppendOptions {
  partitions: number;
  dedupTtlSeconds: number;
  acceptedAt: number;
}

export async function appendEvents(
  redis: RedisClient,
  events: readonly CloudEvent[],
  options: AppendOptions,
): Promise<AppendResult> {
  const byPartition = new Map<number, CloudEvent[]>();
  for (const event of events) {
    const partition = partitionOf(event.partitionkey, options.partitions);
    let list = byPartition.get(partition);
    if (!list) byPartition.set(partition, (list = []));
    list.push(event);
  }
  const ttl = String(options.dedupTtlSeconds);
  const acceptedAt = String(options.acceptedAt);
  const counts = await Promise.all(
    [...byPartition].map(([partition, list]) =>
      appendOnce.run(
        redis,
        [streamKey(partition), ...list.map((e) => seenKey(partition, e))],
        [ttl, acceptedAt, ...list.map((e) => JSON.stringify(e))],
      ),
    ),
  );
  const accepted = counts.reduce<number>((sum, n) => sum + Number(n), 0);
  return { accepted, duplicates: events.length - accepted };
}
