/** Consumer groups start at the beginning of their stream, so no event accepted before them is missed. */
import type { RedisClient } from '../../platform/redis/client.ts';

export async function ensureGroup(redis: RedisClient, stream: string, group: string): Promise<void> {
  try {
    await redis.xGroupCreate(stream, group, '0', { MKSTREAM: true });
  } catch (error) {
    // BUSYGROUP: it exists already, which is what we wanted.
    if (!(error instanceof Error) || !error.message.startsWith('BUSYGROUP')) throw error;
  }
}
