/**
 * Reads batches of a lane (one or more partitions of a consumer group, read
 * together) for their owner: first the entries a previous owner left pending
 * (claimed whatever their age), then new entries of every partition in one
 * XREADGROUP; every so often, entries pending longer than the idle limit are
 * claimed again.
 *
 * Reads are fenced by the leases: entries are taken only while every lease of
 * the lane names this consumer. A process that stalled past its lease (a
 * zombie) can therefore never take entries the new owner would not see:
 * everything it took, it took before the new owner claimed the pending list.
 *
 * The fence is WATCH + MULTI on the reader's own connection, not a Lua script:
 * the leases are watched and read, and the read runs in a transaction that Redis
 * drops if a lease changed meanwhile. A script would do it in one round trip,
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

/** An entry and the partition whose stream it came from. */
export interface LaneEntry extends StreamEntry {
  partition: number;
}

/** Where a partition's scan of its pending entries stands. */
interface ClaimScan {
  /** Cursor of the scan; '0-0' starts a new one. */
  cursor: string;
  /** Entries idle at least this long are claimed: 0 on the first scan (everything a previous owner left), then the idle limit. */
  minIdle: number;
  nextAt: number;
}

/** Where a lane's loop takes its batches from, and the connection it may commit on (a WATCH needs one nobody else uses). */
export interface BatchSource {
  readonly connection: RedisClient;
  next(): Promise<LaneEntry[]>;
}

export class PartitionReader implements BatchSource {
  readonly #partitions: readonly number[];
  readonly #streams: readonly string[];
  readonly #leases: readonly string[];
  readonly #scans: ClaimScan[];
  /** Entries per stream and read: a round holds about batchSize entries over all the lane's partitions. */
  readonly #count: number;
  /** Set when the last read took everything there was: the streams' last ids, to wait for what comes after. */
  #drainedAt: Array<{ key: string; id: string }> | undefined;

  /**
   * Reads a lane: one or more partitions, all of them at once. `connection` is the
   * lane loop's own: a consumer may commit on it between reads, or read ahead on
   * it and commit on another (ReadAhead).
   */
  constructor(readonly connection: RedisClient, partitions: readonly number[], private readonly options: ReaderOptions) {
    this.#partitions = partitions;
    this.#streams = partitions.map(streamKey);
    this.#leases = partitions.map((p) => leaseKey(options.group, p));
    this.#scans = partitions.map(() => ({ cursor: '0-0', minIdle: 0, nextAt: 0 }));
    this.#count = Math.ceil(options.batchSize / partitions.length);
  }

  /**
   * The next batch (pending entries of one partition, or new entries of any), or []
   * when there was none or none came within blockMs of the last read that
   * took everything. Throws LeaseLostError once a lease is gone.
   */
  async next(): Promise<LaneEntry[]> {
    const { pendingIdleMs, now } = this.options;
    for (const [i, scan] of this.#scans.entries()) {
      if (now() < scan.nextAt) continue;
      const [[cursor, claimed]] = await this.#fenced([
        ['XAUTOCLAIM', this.#streams[i]!, this.options.group, this.options.owner, String(scan.minIdle), scan.cursor, 'COUNT', String(this.#count)],
      ]) as [[string, RawEntry[]]];
      scan.cursor = cursor;
      if (cursor === '0-0') {
        // Scan done: from now on only entries idle past the limit count as stuck.
        scan.minIdle = pendingIdleMs;
        scan.nextAt = now() + pendingIdleMs;
      }
      const entries = claimed.flatMap((raw) => toEntry(raw, this.#partitions[i]!));
      if (entries.length > 0) return entries;
    }
    if (this.#drainedAt) {
      // Nothing more was there: wait until a stream grows past it (a plain XREAD takes nothing), without a read for nothing first.
      const woke = await this.connection.xRead(this.#drainedAt, { BLOCK: this.options.blockMs, COUNT: 1 });
      this.#drainedAt = undefined;
      if (!woke) return [];
    }
    const { group, owner } = this.options;
    const [read, ...lasts] = await this.#fenced([
      ['XREADGROUP', 'GROUP', group, owner, 'COUNT', String(this.#count), 'STREAMS', ...this.#streams, ...this.#streams.map(() => '>')],
      ...this.#streams.map((stream) => ['XREVRANGE', stream, '+', '-', 'COUNT', '1']),
    ]) as [Array<[string, RawEntry[]]> | null, ...RawEntry[][]];
    const entries = (read ?? []).flatMap(([stream, raws]) => {
      const partition = this.#partitions[this.#streams.indexOf(stream)]!;
      return raws.flatMap((raw) => toEntry(raw, partition));
    });
    if ((read ?? []).every(([, raws]) => raws.length < this.#count)) {
      this.#drainedAt = this.#streams.map((key, i) => ({ key, id: lasts[i]![0]?.[0] ?? '0-0' }));
    }
    return entries;
  }

  /**
   * `commands` in one transaction, run only while every lease of the lane names
   * this consumer: the leases are watched and read, and Redis drops the
   * transaction if one changed meanwhile. Returns the commands' replies.
   */
  async #fenced(commands: string[][]): Promise<unknown[]> {
    for (;;) {
      // Sent together: the leases are watched before they are read, so any change after the read aborts the EXEC.
      const [, holders] = await Promise.all([this.connection.watch([...this.#leases]), this.connection.mGet([...this.#leases])]);
      const lost = holders.findIndex((holder) => holder !== this.options.owner);
      if (lost >= 0) {
        await this.connection.unwatch();
        throw new LeaseLostError(`lease on ${this.#streams[lost]} is no longer ours`);
      }
      const multi = this.connection.multi();
      for (const command of commands) multi.addCommand(command);
      try {
        return await multi.exec();
      } catch (error) {
        // A lease changed after it was read: renewed by us (a PEXPIRE counts), or taken. Look again.
        if (!(error instanceof WatchError)) throw error;
      }
    }
  }
}

/** [id, [field, value, …]] to an entry; a claimed entry deleted meanwhile comes as [id, nil] and is skipped. */
function toEntry([id, fields]: RawEntry, partition: number): LaneEntry[] {
  if (!fields) return [];
  const message: Record<string, string> = {};
  for (let i = 0; i < fields.length; i += 2) message[fields[i]!] = fields[i + 1]!;
  return [{ id, message, partition }];
}

/**
 * A reader that reads the next batch while the last one is handled: the read
 * runs on the reader's connection, `connection` (for commits) is another. Which
 * entries a batch holds does not change, only when they are read.
 */
export class ReadAhead implements BatchSource {
  #ahead: Promise<LaneEntry[]> | undefined;

  constructor(readonly connection: RedisClient, private readonly reader: PartitionReader) {}

  next(): Promise<LaneEntry[]> {
    const batch = this.#ahead ?? this.reader.next();
    this.#ahead = batch.then(() => this.reader.next());
    // A failed read ahead fails the next call; until then it is not unhandled.
    this.#ahead.catch(() => {});
    return batch;
  }
}
