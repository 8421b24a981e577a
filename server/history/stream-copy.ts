/**
 * Copies a small side stream into a ClickHouse table: entries read through a
 * consumer group of their own, inserted in batches and only then acknowledged.
 * An insert repeated after a crash or a lost answer adds rows with the same
 * key, which the table's merges (and its view's FINAL) collapse. While
 * ClickHouse is away the batch is retried with backoff and nothing more is
 * read: the entries wait in Redis. Alert changes and the audit trail use it.
 */
import { concatMap, defer, EMPTY, ignoreElements, of, repeat, retry, type Subscription } from 'rxjs';
import type { RedisClient } from '../../platform/redis/client.ts';
import type { BackoffPolicy } from '../../platform/retry/backoff.ts';
import { waitAfterFailure } from '../../platform/retry/wait-after-failure.ts';
import { ensureStreamGroup, GroupReader, type GroupEntry } from '../pipeline/group-reader.ts';
import type { HistoryStore } from './store.ts';

const BATCH = 500;

export interface StreamCopyOptions {
  redis: RedisClient;
  store: HistoryStore;
  /** This process's consumer name in the group. */
  consumer: string;
  retry: BackoffPolicy;
  log: (line: string) => void;
}

export interface StreamCopyTarget {
  stream: string;
  group: string;
  table: string;
  /** What the copy is, for log lines ("alert changes"). */
  what: string;
  toRow(entry: GroupEntry): object;
}

export class StreamCopy {
  #connection: RedisClient | undefined;
  #running: Subscription | undefined;
  #stopped = false;

  constructor(private readonly options: StreamCopyOptions, private readonly target: StreamCopyTarget) {}

  async start(): Promise<void> {
    const { redis, store, consumer, retry: policy, log } = this.options;
    const { stream, group, table, what, toRow } = this.target;
    await ensureStreamGroup(redis, stream, group);
    this.#connection = redis.duplicate();
    this.#connection.on('error', () => {});
    await this.#connection.connect();
    const connection = this.#connection;
    this.#running = defer(() => {
      // A fresh reader on every (re)start: the entries of a failed batch, still pending, come first.
      const reader = new GroupReader(connection, { stream, group, consumer, count: BATCH, blockMs: 1_000, claimIdleMs: 60_000 });
      return defer(() => reader.next()).pipe(
        concatMap((entries) => (entries.length === 0 ? of(undefined) : defer(async () => {
          await store.insert(table, entries.map(toRow));
          await redis.xAck(stream, group, entries.map((e) => e.id));
        }))),
        repeat({ delay: () => (this.#stopped ? EMPTY : of(0)) }),
      );
    }).pipe(
      // ClickHouse or Redis away: the same entries are read again (they stay pending) after a backoff.
      retry({ delay: (error: Error, count) => waitAfterFailure(`history: writing ${what}`, error, count, { policy, log }) }),
      ignoreElements(),
    ).subscribe();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#running?.unsubscribe();
    await this.#connection?.close().catch(() => undefined);
  }
}

/** ClickHouse DateTime text of an RFC 3339 time (the epoch when absent). */
export function dateTimeText(iso: string | undefined): string {
  return (iso ?? '1970-01-01T00:00:00Z').slice(0, 19).replace('T', ' ');
}
