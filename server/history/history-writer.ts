/**
 * The "history" consumer group: copies every accepted event from the partition
 * streams into the ClickHouse `events` table, on its own leases and pending
 * lists, so a ClickHouse outage stalls only this group (DESIGN.md section 2).
 *
 * Per owned partition, one pull-based loop: collect a batch (size and time
 * bounded), insert it (one insert per month, the table's partition), then
 * dead-letter what can never be stored and XACK, and only then read on. While
 * ClickHouse fails, the loop retries the same batch with capped backoff and
 * reads nothing more: lag grows in Redis, memory does not.
 *
 * Exactly once in ClickHouse: a batch inserted again (a retry after a timeout
 * whose insert did land, or a crash between insert and XACK) adds copies with
 * the same sorting key, and the ReplacingMergeTree keeps one (docs/history.md).
 */
import { setMaxListeners } from 'node:events';
import os from 'node:os';
import {
  catchError, concatMap, defer, EMPTY, exhaustMap, finalize, ignoreElements, interval, lastValueFrom, mergeMap,
  type Observable, of, repeat, retry, Subject, Subscription, takeUntil, throwError, timer,
} from 'rxjs';
import type { RedisClient } from '../../platform/redis/client.ts';
import { CONSUMER_GROUPS, deadLetterKey, streamKey } from '../../shared/streams.ts';
import type { BackoffPolicy, BatchReader, ConsumerEngine, PartitionOwnership, StreamEntry } from './consumer-engine.ts';
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
}

/** One batch stored and acknowledged, for tests and metrics. */
export interface HistoryBatchCommitted {
  partition: number;
  entries: number;
  /** Rows inserted (entries minus dead letters). */
  inserted: number;
  deadLettered: number;
  /** Inserts that failed before the batch was stored (0 when ClickHouse answered at once). */
  failedInserts: number;
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
  readonly leases: PartitionOwnership;
  readonly #committed = new Subject<HistoryBatchCommitted>();
  /** Every batch stored and acknowledged. */
  readonly committed$ = this.#committed.asObservable();
  readonly #options: Required<Omit<HistoryWriterOptions, 'ownerId'>>;
  readonly #loops = new Map<number, { stop: Subject<void>; done: Promise<void> }>();
  readonly #stopping = new Subject<void>();
  /** Aborts inserts in flight at stop: they may still land, which a later redelivery makes harmless. */
  readonly #abort = new AbortController();
  #subscriptions = new Subscription();
  #stopped = false;
  #held = 0;

  constructor(options: HistoryWriterOptions) {
    this.ownerId = options.ownerId ?? `${os.hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}-history`;
    this.#options = { now: Date.now, random: Math.random, log: () => {}, ...options };
    // One insert at a time per partition listens to it: up to P listeners is expected, not a leak.
    setMaxListeners(options.partitions + 1, this.#abort.signal);
    this.leases = options.engine.leases(options.redis, {
      group: GROUP, partitions: options.partitions, ownerId: this.ownerId, ttlMs: options.leaseTtlMs, now: this.#options.now,
    });
  }

  /** Entries read and not yet acknowledged, over all partitions: at most owned partitions × (2 · batchSize − 1). */
  get held(): number {
    return this.#held;
  }

  async start(): Promise<void> {
    if (this.#stopped) return; // stopped while the history role still waited for ClickHouse
    const { redis, engine, partitions, leaseTtlMs, log } = this.#options;
    for (let p = 0; p < partitions; p++) await engine.ensureGroup(redis, streamKey(p), GROUP);
    await this.leases.tick();
    // Renewed on a timer of their own, so a batch retrying through a long outage keeps its partition.
    this.#subscriptions.add(interval(leaseTtlMs / 3).pipe(
      exhaustMap(() => defer(() => this.leases.tick()).pipe(catchError((error: Error) => {
        log(`history: lease round failed: ${error.message}`);
        return EMPTY;
      }))),
      takeUntil(this.#stopping),
    ).subscribe());
    this.#subscriptions.add(this.leases.owned$.subscribe((owned) => this.#follow(owned)));
  }

  /** Ends every loop after its batch (a batch still waiting for ClickHouse is left pending), then gives up the leases. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#stopping.next();
    this.#abort.abort();
    for (const loop of this.#loops.values()) loop.stop.next();
    await Promise.all([...this.#loops.values()].map((l) => l.done));
    this.#subscriptions.unsubscribe();
    await this.leases.release().catch(() => undefined);
    this.#committed.complete();
  }

  #follow(owned: ReadonlySet<number>): void {
    for (const [p, loop] of this.#loops) if (!owned.has(p)) loop.stop.next();
    for (const p of owned) {
      if (this.#loops.has(p) || this.#stopped) continue;
      const stop = new Subject<void>();
      const done = lastValueFrom(this.#partitionLoop(p, stop), { defaultValue: undefined })
        .catch((error: Error) => this.#options.log(`history: partition ${p} stopped: ${error.message}`))
        .then(() => {
          this.#loops.delete(p);
          if (this.leases.owned.has(p)) this.#follow(this.leases.owned);
        });
      this.#loops.set(p, { stop, done });
    }
  }

  #partitionLoop(partition: number, stop: Subject<void>): Observable<void> {
    const { redis, engine, batchSize, batchWaitMs, pendingIdleMs, now } = this.#options;
    let stopRequested = false;
    const stopWatch = stop.subscribe(() => (stopRequested = true));
    const stopped = () => stopRequested || this.#stopped;
    return defer(async () => {
      // Blocking reads need a connection of their own.
      const connection = redis.duplicate();
      connection.on('error', () => {});
      await connection.connect();
      return connection;
    }).pipe(
      mergeMap((connection) => {
        // Short idle waits: a batch in collection is never held much past batchWaitMs.
        const reader = engine.reader(connection, partition, {
          group: GROUP, owner: this.ownerId, batchSize, blockMs: Math.max(1, Math.min(batchWaitMs, 250)), pendingIdleMs, now,
        });
        return defer(() => this.#collect(reader, stopped)).pipe(
          concatMap((entries) => (entries.length > 0 ? this.#store(partition, entries, stopped) : of(undefined))),
          // Pull-based: the next read starts only once this batch is stored and acknowledged.
          repeat({ delay: () => (stopped() ? EMPTY : of(0)) }),
          // A failed read (Redis away) is retried; nothing was acknowledged, so nothing is lost.
          retry({ delay: (error: Error, count) => this.#backoffAfter(`partition ${partition} read`, error, count) }),
          catchError((error: Error) =>
            (engine.isLeaseLost(error) || error instanceof BatchAbandonedError ? EMPTY : throwError(() => error))),
          finalize(() => {
            stopWatch.unsubscribe();
            void connection.close().catch(() => connection.destroy());
          }),
        );
      }),
      ignoreElements(),
    );
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
    const batch = planHistoryBatch(partition, entries);
    let failedInserts = 0;
    let inserted = 0; // months already stored: a retry sends only the rest
    const insertAll = defer(async () => {
      for (; inserted < batch.inserts.length; inserted++) {
        await this.#options.store.insert('events', batch.inserts[inserted]!.rows, { signal: this.#abort.signal });
      }
    }).pipe(
      retry({
        delay: (error: Error) => {
          failedInserts++;
          // Stopping, or the partition went to another owner: leave the batch pending for whoever reads it next.
          if (stopped()) throw new BatchAbandonedError(`partition ${partition}: batch left pending (${error.message})`);
          return this.#backoffAfter(`partition ${partition} insert`, error, failedInserts);
        },
      }),
    );
    const acknowledge = defer(() => this.#acknowledge(batch)).pipe(
      retry({ delay: (error: Error, count) => this.#backoffAfter(`partition ${partition} acknowledgement`, error, count) }),
    );
    return insertAll.pipe(
      concatMap(() => acknowledge),
      concatMap(() => {
        const ackedAt = this.#options.now();
        this.#committed.next({
          partition,
          entries: entries.length,
          inserted: entries.length - batch.deadLetters.length,
          deadLettered: batch.deadLetters.length,
          failedInserts,
          lastStreamId: entries[entries.length - 1]!.id,
          latenciesMs: batch.acceptedAt.map((t) => ackedAt - t),
        });
        return of(undefined);
      }),
      finalize(() => (this.#held -= entries.length)),
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

  /** Capped exponential backoff with jitter, no budget: nothing was acknowledged, so waiting loses nothing. */
  #backoffAfter(what: string, error: Error, count: number): Observable<number> {
    const { engine, retry: policy, random, log } = this.#options;
    if (engine.isLeaseLost(error) || error instanceof BatchAbandonedError || (this.#stopped && count > 3)) throw error;
    // Log the first failure and then every tenth: an outage of minutes should not flood the log.
    if (count === 1 || count % 10 === 0) log(`history: ${what} failed (${error.message}); retry ${count}`);
    return timer(engine.backoffMs(policy, count, random));
  }
}
