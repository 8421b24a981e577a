/**
 * Reads a stream through a consumer group, for the small side streams (alert
 * changes): first what this consumer already holds (a new reader starts after
 * a crash or a failed batch: those come before anything newer), then entries
 * another consumer has held unacknowledged past `claimIdleMs` (a process that
 * died with them), then new ones, waiting up to `blockMs` for them. Use a
 * connection of its own: the read blocks.
 */
import type { RedisClient } from '../../platform/redis/client.ts';

export interface GroupEntry {
  id: string;
  message: Record<string, string>;
}

export interface GroupReaderOptions {
  stream: string;
  group: string;
  consumer: string;
  count: number;
  blockMs: number;
  claimIdleMs: number;
}

/** Creates the group at the start of the stream (and the stream) unless it exists. */
export async function ensureStreamGroup(redis: RedisClient, stream: string, group: string): Promise<void> {
  await redis.xGroupCreate(stream, group, '0', { MKSTREAM: true }).catch((error: Error) => {
    if (!error.message.includes('BUSYGROUP')) throw error;
  });
}

export class GroupReader {
  /** Where this consumer's own pending entries are read from, until they are all read once. */
  #ownFrom: string | undefined = '0';

  constructor(private readonly connection: RedisClient, private readonly options: GroupReaderOptions) {}

  /** The next entries; `busy` are ids this consumer is still working on, left out of a claim. */
  async next(busy: ReadonlySet<string> = new Set()): Promise<GroupEntry[]> {
    const { stream, group, consumer, count, blockMs, claimIdleMs } = this.options;
    if (this.#ownFrom !== undefined) {
      const own = await this.#read(this.#ownFrom, { COUNT: count });
      this.#ownFrom = own.length > 0 ? own.at(-1)!.id : undefined;
      if (own.length > 0) return own;
    }
    const claimed = await this.connection.xAutoClaim(stream, group, consumer, claimIdleMs, '0-0', { COUNT: count });
    const stale = claimed.messages.filter((m): m is GroupEntry => m !== null && !busy.has(m.id));
    if (stale.length > 0) return stale;
    return this.#read('>', { COUNT: count, BLOCK: blockMs });
  }

  /** XREADGROUP from `id`: '>' for new entries, another id for this consumer's pending ones after it. */
  async #read(id: string, options: { COUNT: number; BLOCK?: number }): Promise<GroupEntry[]> {
    const { stream, group, consumer } = this.options;
    const reply = (await this.connection.xReadGroup(group, consumer, { key: stream, id }, options)) as Array<{ messages: Array<GroupEntry | null> }> | null;
    // A pending entry deleted meanwhile (trimmed) comes back without fields.
    return (reply?.[0]?.messages ?? []).filter((m): m is GroupEntry => m !== null && m.message !== null);
  }
}
