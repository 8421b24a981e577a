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
// Returns 1 per event appended, 0 per duplicate, in order (metrics count duplicates by type and source).
const appendOnce = new LuaScript(`
local appended = {}
for i = 2, #KEYS do
  if redis.call('SET', KEYS[i], '1', 'NX', 'EX', ARGV[1]) then
    redis.call('XADD', KEYS[1], '*', '${ENTRY_FIELDS.event}', ARGV[i + 1], '${ENTRY_FIELDS.acceptedAt}', ARGV[2])
    appended[i - 1] = 1
  else
    appended[i - 1] = 0
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
  /** Per event, in the order given: true when Redis held it already and it was not appended again. */
  duplicate: boolean[];
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
  // Indexes of the events, by partition.
  const byPartition = new Map<number, number[]>();
  events.forEach((event, index) => {
    const partition = partitionOf(event.partitionkey, options.partitions);
    let list = byPartition.get(partition);
    if (!list) byPartition.set(partition, (list = []));
    list.push(index);
  });
  const ttl = String(options.dedupTtlSeconds);
  const acceptedAt = String(options.acceptedAt);
  const duplicate = new Array<boolean>(events.length).fill(false);
  let accepted = 0;
  await Promise.all(
    [...byPartition].map(async ([partition, list]) => {
      const appended = (await appendOnce.run(
        redis,
        [streamKey(partition), ...list.map((i) => seenKey(partition, events[i]!))],
        [ttl, acceptedAt, ...list.map((i) => JSON.stringify(events[i]))],
      )) as number[];
      list.forEach((index, i) => {
        if (Number(appended[i]) === 1) accepted++;
        else duplicate[index] = true;
      });
    }),
  );
  return { accepted, duplicates: events.length - accepted, duplicate };
}
