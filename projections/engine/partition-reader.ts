/**
 * Reads batches of one partition for its owner: first the entries a previous
 * owner left pending (claimed whatever their age), then new entries; every so
 * often, entries pending longer than the idle limit are claimed again.
 *
 * Reads are fenced by the lease: entries are taken only while the lease names
 * this consumer. A process that stalled past its lease (a zombie) can therefore
 * never take entries the new owner would not see: everything it took, it took
 * before the new owner claimed the pending list.
 *
 * The fence is WATCH + MULTI on the reader's own connection, not a Lua script:
 * the lease is watched and read, and the read runs in a transaction that Redis
 * drops if the lease changed meanwhile. A script would do it in one round trip,
 * but Redis copies a script's replies into Lua and back, which for batches of
 * events costs it about three times the read itself (bench/projection.ts).
 */
import { WatchError } from 'redis';
import type { RedisClient } from '../../platform/redis/client.ts';
import { leaseKey, streamKey, type ConsumerGroup } from '../../shared/streams.ts';
import type { StreamEntry } from './decode.ts';
import { LeaseLostError } from './errors.ts';

export interface ReaderOptions {
  group: ConsumerGroup;
  /** The consumer name, which is also the lease owner id. */
  owner: string;
  batchSize: number;
  blockMs: number;
  pendingIdleMs: number;
  now: () => number;
}

type RawEntry = [id: string, fields: string[] | null];

export class PartitionReader {
  readonly #stream: string;
  readonly #lease: string;
  /** Cursor of the pending-entries scan; '0-0' starts a new scan. */
  #claimCursor = '0-0';
  #claimMinIdle = 0;
  #nextClaimAt = 0;

  /** `connection` is this partition loop's own: the projector also commits on it (a WATCH needs one nobody else uses). */
  constructor(readonly connection: RedisClient, partition: number, private readonly options: ReaderOptions) {
    this.#stream = streamKey(partition);
    this.#lease = leaseKey(options.group, partition);
  }

  /** The next batch, or [] after waiting up to blockMs for one. Throws LeaseLostError once the lease is gone. */
  async next(): Promise<StreamEntry[]> {
    const { pendingIdleMs, now } = this.options;
    if (now() >= this.#nextClaimAt) {
      const [cursor, entries] = await this.#read(String(this.#claimMinIdle), this.#claimCursor);
      this.#claimCursor = cursor;
      if (cursor === '0-0') {
        // Scan done: from now on only entries idle past the limit count as stuck.
        this.#claimMinIdle = pendingIdleMs;
        this.#nextClaimAt = now() + pendingIdleMs;
      }
      if (entries.length > 0) return entries;
    }
    const [lastId, entries] = await this.#read('', '');
    if (entries.length > 0) return entries;
    // Nothing new: wait until the stream grows past what it held (a plain XREAD takes nothing).
    await this.connection.xRead({ key: this.#stream, id: lastId }, { BLOCK: this.options.blockMs, COUNT: 1 });
    return [];
  }

  /**
   * One fenced read: pending entries idle at least `claimMinIdle` ms from `cursor` on (XAUTOCLAIM),
   * or, when `claimMinIdle` is '', new entries (XREADGROUP) and the stream's last id.
   * Returns the next claim cursor (a claim) or the stream's last id (a read), and the entries.
   */
  async #read(claimMinIdle: string, cursor: string): Promise<[string, StreamEntry[]]> {
    const { owner, group, batchSize } = this.options;
    const count = String(batchSize);
    for (;;) {
      // Sent together: the lease is watched before it is read, so any change after the read aborts the EXEC.
      const [, holder] = await Promise.all([this.connection.watch(this.#lease), this.connection.get(this.#lease)]);
      if (holder !== owner) {
        await this.connection.unwatch();
        throw new LeaseLostError(`lease on ${this.#stream} is no longer ours`);
      }
      const multi = this.connection.multi();
      if (claimMinIdle !== '') {
        multi.addCommand(['XAUTOCLAIM', this.#stream, group, owner, claimMinIdle, cursor, 'COUNT', count]);
      } else {
        multi.addCommand(['XREADGROUP', 'GROUP', group, owner, 'COUNT', count, 'STREAMS', this.#stream, '>']);
        multi.addCommand(['XREVRANGE', this.#stream, '+', '-', 'COUNT', '1']);
      }
      let replies: unknown[];
      try {
        replies = await multi.exec();
      } catch (error) {
        // The lease changed after it was read: renewed by us (a PEXPIRE counts), or taken. Look again.
        if (error instanceof WatchError) continue;
        throw error;
      }
      if (claimMinIdle !== '') {
        const [next, claimed] = replies[0] as [string, RawEntry[]];
        return [next, claimed.flatMap(toEntry)];
      }
      const read = replies[0] as Array<[string, RawEntry[]]> | null;
      const last = replies[1] as RawEntry[];
      return [last[0]?.[0] ?? '0-0', (read?.[0]?.[1] ?? []).flatMap(toEntry)];
    }
  }
}

/** [id, [field, value, …]] to an entry; a claimed entry deleted meanwhile comes as [id, nil] and is skipped. */
function toEntry([id, fields]: RawEntry): StreamEntry[] {
  if (!fields) return [];
  const message: Record<string, string> = {};
  for (let i = 0; i < fields.length; i += 2) message[fields[i]!] = fields[i + 1]!;
  return [{ id, message }];
}
