/**
 * Reads batches of one partition for its owner: first the entries a previous
 * owner left pending (claimed whatever their age), then new entries; every so
 * often, entries pending longer than the idle limit are claimed again.
 */
import type { RedisClient } from '../../platform/redis/client.ts';
import { streamKey } from '../../shared/streams.ts';
import type { StreamEntry } from './decode.ts';

export interface ReaderOptions {
  group: string;
  consumer: string;
  batchSize: number;
  blockMs: number;
  pendingIdleMs: number;
  now: () => number;
}

export class PartitionReader {
  readonly #key: string;
  /** Cursor of the pending-entries scan; '0-0' starts a new scan. */
  #claimCursor = '0-0';
  #claimMinIdle = 0;
  #nextReclaimAt = 0;

  constructor(private readonly connection: RedisClient, partition: number, private readonly options: ReaderOptions) {
    this.#key = streamKey(partition);
  }

  async next(): Promise<StreamEntry[]> {
    const { group, consumer, batchSize, blockMs, pendingIdleMs, now } = this.options;
    if (now() >= this.#nextReclaimAt) {
      const claimed = await this.connection.xAutoClaim(this.#key, group, consumer, this.#claimMinIdle, this.#claimCursor, {
        COUNT: batchSize,
      });
      this.#claimCursor = claimed.nextId;
      if (claimed.nextId === '0-0') {
        // Scan done: from now on only entries idle past the limit count as stuck.
        this.#claimMinIdle = pendingIdleMs;
        this.#nextReclaimAt = now() + pendingIdleMs;
      }
      const entries = claimed.messages.filter((m): m is StreamEntry => m !== null);
      if (entries.length > 0) return entries;
    }
    // RESP2 reply: [{ name, messages }] or null after the block time.
    const reply = (await this.connection.xReadGroup(group, consumer, { key: this.#key, id: '>' }, {
      COUNT: batchSize,
      BLOCK: blockMs,
    })) as Array<{ name: string; messages: StreamEntry[] }> | null;
    return reply?.[0]?.messages ?? [];
  }
}
