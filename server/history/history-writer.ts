/**
 * The "history" consumer group: copies every accepted event from the partition
 * streams into the ClickHouse `events` table, and its rows into the analytic
 * tables, on its own leases and pending lists, so a ClickHouse outage stalls
 * only this group (DESIGN.md section 2).
 *
 * Per owned partition, one pull-based loop: collect a batch (size and time
 * bounded), insert it (per month, the tables' partition: `events`, then each
 * analytic table), then dead-letter what can never be stored and XACK, and
 * only then read on. While ClickHouse fails, the loop retries the same batch
 * with capped backoff and reads nothing more: lag grows in Redis, memory does
 * not.
 *
 * Exactly once in ClickHouse: a batch inserted again (a retry after a timeout
 * whose insert did land, or a crash between insert and XACK) adds copies with
 * the same sorting key, and the ReplacingMergeTrees keep one (docs/history.md).
 */
import { setMaxListeners } from 'node:events';
import os from 'node:os';
import { setImmediate } from 'node:timers/promises';
import pLimit from 'p-limit';
import { concatMap, defer, finalize, type Observable, of, retry, Subject } from 'rxjs';
import type { RedisClient } from '../../platform/redis/client.ts';
import { CONSUMER_GROUPS, deadLetterKey, streamKey } from '../../shared/streams.ts';
import type { BackoffPolicy, BatchReader, ConsumerEngine, OwnedPartitionsPort, StreamEntry } from './consumer-engine.ts';
import type { ToAnalyticRows } from './analytic-rows.ts';
import { planHistoryBatch, type HistoryBatch } from './history-batch.ts';
import type { HistoryStore } from './store.ts';

const GROUP = CONSUMER_GROUPS.history;
/** Dead letters of the history group: `eventdeck:dlq:history`, the same fields as the projections'. */
export const HISTORY_DEAD_LETTERS = deadLetterKey(GROUP);

export interface HistoryWriterOptions {
  redis: RedisClient;
  store: HistoryStore;
  engine: ConsumerEngine;
  partitions: number;
  /** Entries per batch: a batch is inserted once it holds this many… */
  batchSize: number;
  /** …or this long after its first entry was read, whichever comes first. */
  batchWaitMs: number;
  leaseTtlMs: number;
  pendingIdleMs: number;
  retry: BackoffPolicy;
  now?: () => number;
  random?: () => number;
  log?: (line: string) => void;
  ownerId?: string;
  /** An event's rows of the analytic tables, inserted with its `events` row before the XACK; without it, only `events` is written. */
  toAnalyticRows?: ToAnalyticRows;
}

/** One batch stored and acknowledged, for tests and metrics. */
export interface HistoryBatchCommitted {
  partition: number;
  entries: number;
  /** Events stored in `events` (entries minus those that can never be stored). */
  inserted: number;
  /** Rows stored in the analytic tables, over all of them. */
  analyticRows: number;
  /** Entries dead-lettered: never storable, or stored without analytic rows (their data does not fit their type). */
  deadLettered: number;
  /** Inserts that failed before the batch was stored (0 when ClickHouse answered at once). */
  failedInserts: number;
  /** Each insert that stored rows: its table and how long ClickHouse took (ms). */
  inserts: Array<{ table: string; ms: number }>;
  lastStreamId: string;
  /** ms from ingest acceptance to acknowledgement, one per stored event. */
  latenciesMs: number[];
}

/** The loop of a partition gave up its batch unstored (stopping, or the lease went); the entries stay pending. */
class BatchAbandonedError extends Error {
  override readonly name = 'BatchAbandonedError';
  readonly code = 'EVENTDECK_HISTORY_BATCH_ABANDONED';
}

export class HistoryWriter {
  readonly ownerId: string;
  readonly #partitions: OwnedPartitionsPort;
  readonly #committed = new Subject<HistoryBatchCommitted>();
  /** Every batch stored and acknowledged. */
  readonly committed$ = this.#committed.asObservable();
  readonly #options: Required<Omit<HistoryWriterOptions, 'ownerId' | 'toAnalyticRows'>> & Pick<HistoryWriterOptions, 'toAnalyticRows'>;
  /** Aborts inserts in flight at stop: they may still land, which a later redelivery makes harmless. */
  readonly #abort = new AbortController();
  #stopped = false;
  #held = 0;
  /** One plan at a time (they are CPU work on this thread anyway), see #store. */
  readonly #planning = pLimit(1);

  constructor(options: HistoryWriterOptions) {
    this.ownerId = options.ownerId ?? `${os.hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}-history`;
    this.#options = { now: Date.now, random: Math.random, log: () => {}, ...options };
    const { redis, engine, partitions, batchSize, batchWaitMs, leaseTtlMs, pendingIdleMs, retry: policy, now, random, log } = this.#options;
    // One insert at a time per partition listens to it: up to P listeners is expected, not a leak.
    setMaxListeners(partitions + 1, this.#abort.signal);
    this.#partitions = engine.ownedPartitions(redis, {
      group: GROUP, partitions, ownerId: this.ownerId, leaseTtlMs, batchSize, pendingIdleMs, retry: policy, now, random,
      // Short idle waits: a batch in collection is never held much past batchWaitMs.
      blockMs: Math.max(1, Math.min(batchWaitMs, 250)),
      log: (line) => log(`history: ${line}`),
    }, {
      // A lane per partition (the engine's default): each batch is one partition's, for one insert per ClickHouse partition.
      round: ([partition], reader, stopped) => defer(() => this.#collect(reader, stopped)).pipe(
        concatMap((entries) => (entries.length > 0 ? this.#store(partition!, entries, stopped) : of(undefined))),
      ),
      ends: (error) => error instanceof BatchAbandonedError,
    });
  }

  /** The partitions this writer owns now. */
  get owned(): ReadonlySet<number> {
    return this.#partitions.leases.owned;
  }

  /** Entries read and not yet acknowledged, over all partitions: at most owned partitions × (2 · batchSize − 1). */
  get held(): number {
    return this.#held;
  }

  async start(): Promise<void> {
    if (this.#stopped) return; // stopped while the history role still waited for ClickHouse
    await this.#partitions.start();
  }

  /** Ends every loop after its batch (a batch still waiting for ClickHouse is left pending), then gives up the leases. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#abort.abort();
    await this.#partitions.stop();
    this.#committed.complete();
  }

  /** Reads until the batch holds batchSize entries or batchWaitMs passed since its first; [] when the partition is idle. */
  async #collect(reader: BatchReader, stopped: () => boolean): Promise<StreamEntry[]> {
    const { batchSize, batchWaitMs, now } = this.#options;
    const batch: StreamEntry[] = [];
    let deadline = Number.POSITIVE_INFINITY;
    try {
      while (batch.length < batchSize && now() < deadline && !stopped()) {
        const entries = await reader.next();
        if (entries.length === 0 && batch.length === 0) break;
        if (batch.length === 0) deadline = now() + batchWaitMs;
        batch.push(...entries);
        this.#held += entries.length;
      }
    } catch (error) {
      // Entries read so far stay pending: the reader claims them again once idle past pendingIdleMs.
      this.#held -= batch.length;
      throw error;
    }
    return batch;
  }

  #store(partition: number, entries: StreamEntry[], stopped: () => boolean): Observable<void> {
    // Planning a full batch holds the event loop for about 0.1 s. Partitions whose reads answered
    // together planned back to back for seconds, with no timer run meanwhile: the ClickHouse client
    // then reused keep-alive sockets the server had closed, and inserts failed (EPIPE) and waited out
    // a backoff. Plans take turns, each after a turn of the event loop, so timers and I/O run between them.
    return defer(() => this.#planning(async () => {
      await setImmediate();
      return planHistoryBatch(partition, entries, this.#options.toAnalyticRows);
    })).pipe(
      concatMap((batch) => this.#storePlanned(batch, entries, stopped)),
      finalize(() => (this.#held -= entries.length)),
    );
  }

  #storePlanned(batch: HistoryBatch, entries: StreamEntry[], stopped: () => boolean): Observable<void> {
    const { partition } = batch;
    // Every table's rows before the XACK: `events` per month, then the analytic tables per month.
    const inserts: Array<{ table: string; rows: object[] }> = [...batch.inserts.map(({ rows }) => ({ table: 'events', rows })), ...batch.analyticInserts];
    let failedInserts = 0;
    let inserted = 0; // inserts already stored: a retry sends only the rest
    const timings: HistoryBatchCommitted['inserts'] = [];
    const insertAll = defer(async () => {
      for (; inserted < inserts.length; inserted++) {
        const { table, rows } = inserts[inserted]!;
        const started = performance.now();
        await this.#options.store.insert(table, rows, { signal: this.#abort.signal });
        timings.push({ table, ms: performance.now() - started });
      }
    }).pipe(
      retry({
        delay: (error: Error) => {
          failedInserts++;
          // Stopping, or the partition went to another owner: leave the batch pending for whoever reads it next.
          if (stopped()) throw new BatchAbandonedError(`partition ${partition}: batch left pending (${error.message})`);
          return this.#partitions.backoffAfter(`partition ${partition} insert`, error, failedInserts);
        },
      }),
    );
    const acknowledge = defer(() => this.#acknowledge(batch)).pipe(
      retry({ delay: (error: Error, count) => this.#partitions.backoffAfter(`partition ${partition} acknowledgement`, error, count) }),
    );
    return insertAll.pipe(
      concatMap(() => acknowledge),
      concatMap(() => {
        const ackedAt = this.#options.now();
        this.#committed.next({
          partition,
          entries: entries.length,
          inserted: batch.events,
          analyticRows: batch.analyticRows,
          deadLettered: batch.deadLetters.length,
          failedInserts,
          inserts: timings,
          lastStreamId: entries[entries.length - 1]!.id,
          latenciesMs: batch.acceptedAt.map((t) => ackedAt - t),
        });
        return of(undefined);
      }),
    );
  }

  /** Dead letters and the XACK in one MULTI: a crash cannot dead-letter an entry twice. */
  async #acknowledge(batch: HistoryBatch): Promise<void> {
    const { redis, now } = this.#options;
    const multi = redis.multi();
    for (const { entry, error } of batch.deadLetters) {
      multi.xAdd(HISTORY_DEAD_LETTERS, '*', {
        event: entry.message.event ?? '', error, attempts: '1', streamId: entry.id,
        partition: String(batch.partition), failedAt: String(now()),
      });
    }
    if (batch.deadLetters.length > 0) {
      this.#options.log(`history: dead-lettered ${batch.deadLetters.length} event(s) of partition ${batch.partition}: ${batch.deadLetters[0]!.error}`);
    }
    multi.xAck(streamKey(batch.partition), GROUP, batch.ids);
    await multi.exec();
  }
}
