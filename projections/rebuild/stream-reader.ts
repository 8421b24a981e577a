/** A range of one partition stream, read in pages of stream entries. */
import type { RedisClient } from '../../platform/redis/client.ts';
import { streamKey } from '../../shared/streams.ts';
import type { StreamEntry } from '../engine/decode.ts';
import { idParts } from './stream-ids.ts';

/** A checkpoint as Redis reads stream ids: the switch may have spelled it with a leading zero. */
export function canonicalId(id: string): string {
  const { ms, seq } = idParts(id);
  return `${ms}-${seq}`;
}

/**
 * Entries of partition p from `from` ('' from the start; exclusive when `after`)
 * up to `to` (inclusive).
 */
export async function* readRange(
  redis: RedisClient, partition: number, from: { id: string; after?: boolean }, to: string, pageSize: number,
): AsyncGenerator<StreamEntry[]> {
  const key = streamKey(partition);
  let start = from.id === '' ? '-' : `${from.after ? '(' : ''}${canonicalId(from.id)}`;
  const end = canonicalId(to);
  for (;;) {
    const page = await redis.xRange(key, start, end, { COUNT: pageSize });
    if (page.length === 0) return;
    yield page.map(({ id, message }) => ({ id, message: message as Record<string, string> }));
    if (page.length < pageSize) return;
    start = `(${page[page.length - 1]!.id}`;
  }
}

/** Up to `count` entries of partition p after `after` ('' from the start). */
export async function readAfter(redis: RedisClient, partition: number, after: string, count: number): Promise<StreamEntry[]> {
  const page = await redis.xRange(streamKey(partition), after === '' ? '-' : `(${canonicalId(after)}`, '+', { COUNT: count });
  return page.map(({ id, message }) => ({ id, message: message as Record<string, string> }));
}
