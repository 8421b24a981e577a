/**
 * Where a rebuild reads each partition from. The event store holds what the
 * history group has acknowledged (it stores, then acknowledges); the live read
 * model holds what the projection's checkpoint says. A rebuild folds, per
 * partition, the store below the earlier of the two, then the stream from
 * there up to the checkpoint: events not yet in the store come from the stream.
 */
import type { RedisClient } from '../../platform/redis/client.ts';
import { checkpointKey, compareStreamIds, CONSUMER_GROUPS, streamKey } from '../../shared/streams.ts';
import { StreamTrimmedError } from './errors.ts';
import { earlierId, idAfter } from './stream-ids.ts';

/** The projection's live checkpoint per partition ('' where it has committed nothing). */
export async function readCheckpoints(redis: RedisClient, projection: string, partitions: number): Promise<string[]> {
  const values = await redis.mGet(Array.from({ length: partitions }, (_, p) => checkpointKey(projection, p)));
  return values.map((v) => v ?? '');
}

/**
 * Per partition, the stream id below which every entry is in the event store
 * (the history group stores, then acknowledges): its oldest pending entry, or,
 * with none pending, the one after its last delivered. '0-0' (nothing) without
 * a stream or a history group.
 */
export async function storedBelow(redis: RedisClient, partitions: number): Promise<string[]> {
  const below: string[] = [];
  for (let p = 0; p < partitions; p++) {
    const key = streamKey(p);
    if (!(await redis.exists(key))) {
      below.push('0-0');
      continue;
    }
    const group = (await redis.xInfoGroups(key)).find((g) => String(g.name) === CONSUMER_GROUPS.history);
    if (!group) {
      below.push('0-0');
      continue;
    }
    // Delivered first, pending second: an entry delivered in between is pending (after the one delivered)
    // or acknowledged, so what is below both bounds has been stored either way.
    const delivered = idAfter(String(group['last-delivered-id']));
    const pending = await redis.xPending(key, CONSUMER_GROUPS.history);
    below.push(pending.pending > 0 && pending.firstId ? earlierId(pending.firstId, delivered) : delivered);
  }
  return below;
}

/** Per partition: the event store gives the events below this id, the stream the rest up to the checkpoint. */
export function storeBounds(checkpoints: readonly string[], stored: readonly string[]): string[] {
  return checkpoints.map((checkpoint, p) => earlierId(idAfter(checkpoint), stored[p]!));
}

/**
 * Refuses when a stream has lost an entry at or after where the rebuild reads
 * it from: that event would be missing. Redis 7 tells both ways of losing one:
 * XDEL (`max-deleted-entry-id`), and trimming, which removes from the head
 * (`entries-added` above `length`): then the first entry left must not be
 * after where the rebuild starts. (Retention trims only what every group has
 * acknowledged, so this holds unless the stream was trimmed by hand.) An
 * older Redis reports neither and is not checked.
 */
export async function checkStreamsKept(redis: RedisClient, from: readonly string[]): Promise<void> {
  for (let p = 0; p < from.length; p++) {
    const key = streamKey(p);
    if (!(await redis.exists(key))) continue;
    const reply = (await redis.sendCommand(['XINFO', 'STREAM', key])) as unknown[];
    const info = new Map<string, unknown>();
    for (let i = 0; i + 1 < reply.length; i += 2) info.set(String(reply[i]), reply[i + 1]);
    const start = from[p]!;
    const lost = (detail: string) => new StreamTrimmedError(
      `partition ${p}: the stream no longer holds entries from ${start} on (${detail}), and the event store does not have them yet; ` +
      'rebuild once the history group has stored what is on the stream');
    const deleted = info.get('max-deleted-entry-id');
    if (deleted !== undefined && String(deleted) !== '0-0' && compareStreamIds(String(deleted), start) >= 0) {
      throw lost(`entries up to ${String(deleted)} were deleted`);
    }
    const added = info.get('entries-added');
    const last = String(info.get('last-generated-id') ?? '0-0');
    if (added === undefined || Number(added) <= Number(info.get('length')) || compareStreamIds(start, last) > 0) continue;
    const first = info.get('first-entry') as [string, unknown] | null | undefined;
    const firstKept = first ? String(first[0]) : idAfter(last);
    if (compareStreamIds(firstKept, start) > 0) throw lost(`it was trimmed up to ${firstKept}`);
  }
}
