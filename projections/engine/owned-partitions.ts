/**
 * One consumer group's share of the partitions, in this process: the leases
 * (taken and renewed on a timer of their own, so a batch retrying through a
 * long outage keeps its partition) and one pull-based loop per owned partition,
 * on a connection of its own since reads block. Both groups run on it: the
 * projector ("live") and the history writer ("history"); each says what one
 * round of a partition does (read a batch, handle it) and the loop repeats it.
 */
import {
  catchError, defer, EMPTY, exhaustMap, finalize, from, ignoreElements, interval, lastValueFrom, mergeMap,
  type Observable, type ObservableInput, of, repeat, retry, Subject, Subscription, takeUntil, throwError,
} from 'rxjs';
import type { RedisClient } from '../../platform/redis/client.ts';
import { streamKey, type ConsumerGroup } from '../../shared/streams.ts';
import type { BackoffPolicy } from '../../platform/retry/backoff.ts';
import { waitAfterFailure } from '../../platform/retry/wait-after-failure.ts';
import { LeaseLostError } from './errors.ts';
import { ensureGroup } from './groups.ts';
import { PartitionLeases } from './leases.ts';
import { PartitionReader } from './partition-reader.ts';

export interface OwnedPartitionsOptions {
  group: ConsumerGroup;
  partitions: number;
  /** The lease owner, which is also the consumer name in the group. */
  ownerId: string;
  leaseTtlMs: number;
  batchSize: number;
  /** How long an idle read blocks before the loop goes round again. */
  blockMs: number;
  pendingIdleMs: number;
  /** Backoff after an infrastructure error (Redis or ClickHouse away): capped, no budget. */
  retry: BackoffPolicy;
  now: () => number;
  random: () => number;
  log: (line: string) => void;
}

export interface PartitionWork {
  /**
   * One round of a partition: read a batch with the reader and handle it. The
   * loop starts the next round when this one completes; an error starts the
   * loop again after a backoff, with a fresh reader.
   */
  round(partition: number, reader: PartitionReader, stopped: () => boolean): ObservableInput<unknown>;
  /** Errors that end a partition's loop quietly, besides a lost lease. */
  ends?(error: unknown): boolean;
}

export class OwnedPartitions {
  readonly leases: PartitionLeases;
  readonly #loops = new Map<number, { stop: Subject<void>; done: Promise<void> }>();
  readonly #stopping = new Subject<void>();
  readonly #subscriptions = new Subscription();
  #stopped = false;

  constructor(
    private readonly redis: RedisClient,
    private readonly options: OwnedPartitionsOptions,
    private readonly work: PartitionWork,
  ) {
    const { group, partitions, ownerId, leaseTtlMs: ttlMs, now } = options;
    this.leases = new PartitionLeases(redis, { group, partitions, ownerId, ttlMs, now });
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  async start(): Promise<void> {
    const { group, partitions, leaseTtlMs, log } = this.options;
    for (let p = 0; p < partitions; p++) await ensureGroup(this.redis, streamKey(p), group);
    await this.leases.tick();
    // Renew at a third of the TTL: two missed rounds still keep the leases.
    this.#subscriptions.add(interval(leaseTtlMs / 3).pipe(
      exhaustMap(() => defer(() => this.leases.tick()).pipe(catchError((error: Error) => {
        log(`${group}: lease round failed: ${error.message}`);
        return EMPTY;
      }))),
      takeUntil(this.#stopping),
    ).subscribe());
    this.#subscriptions.add(this.leases.owned$.subscribe((owned) => this.#follow(owned)));
  }

  /** Ends every loop after its round, then gives up every lease. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#stopping.next();
    for (const loop of this.#loops.values()) loop.stop.next();
    await Promise.all([...this.#loops.values()].map((l) => l.done));
    this.#subscriptions.unsubscribe();
    await this.leases.release().catch(() => undefined);
  }

  /** Waits before retrying after an infrastructure error: capped backoff, no budget. */
  backoffAfter(what: string, error: Error, count: number): Observable<number> {
    const { group, retry: policy, random, log } = this.options;
    if (error instanceof LeaseLostError || this.work.ends?.(error) || (this.#stopped && count > 3)) throw error;
    return waitAfterFailure(`${group}: ${what}`, error, count, { policy, log, random });
  }

  /** Starts a loop for each newly owned partition; lets loops of lost partitions end after their round. */
  #follow(owned: ReadonlySet<number>): void {
    for (const [p, loop] of this.#loops) if (!owned.has(p)) loop.stop.next();
    for (const p of owned) {
      if (this.#loops.has(p) || this.#stopped) continue;
      const stop = new Subject<void>();
      const done = lastValueFrom(this.#loop(p, stop), { defaultValue: undefined })
        .catch((error: Error) => this.options.log(`${this.options.group}: partition ${p} stopped: ${error.message}`))
        .then(() => {
          this.#loops.delete(p);
          // Owned again while this loop was winding down: start a fresh one.
          if (this.leases.owned.has(p)) this.#follow(this.leases.owned);
        });
      this.#loops.set(p, { stop, done });
    }
  }

  #loop(partition: number, stop: Subject<void>): Observable<void> {
    const { group, ownerId: owner, batchSize, blockMs, pendingIdleMs, now } = this.options;
    let stopRequested = false;
    const stopWatch = stop.subscribe(() => (stopRequested = true));
    const stopped = () => stopRequested || this.#stopped;
    return defer(async () => {
      const connection = this.redis.duplicate();
      connection.on('error', () => {});
      await connection.connect();
      return connection;
    }).pipe(
      mergeMap((connection) => defer(() => {
        // A fresh reader on every (re)start: it takes this consumer's pending entries first. A read
        // whose reply was lost (Redis died after XREADGROUP ran) left entries delivered but never
        // seen; reading newer ones first would move the projections' checkpoints past them.
        const reader = new PartitionReader(connection, partition, { group, owner, batchSize, blockMs, pendingIdleMs, now });
        return defer(() => from(this.work.round(partition, reader, stopped))).pipe(
          // Pull-based: the next round starts only when this one is done; a stop ends the loop between rounds.
          repeat({ delay: () => (stopped() ? EMPTY : of(0)) }),
        );
      }).pipe(
        // A failed read or acknowledgement starts the loop again after a backoff; nothing unacknowledged is lost.
        retry({ delay: (error: Error, count) => this.backoffAfter(`partition ${partition}`, error, count) }),
        // Another process owns the partition now (or the work gave up): what it held is claimed by the next owner.
        catchError((error: Error) => (error instanceof LeaseLostError || this.work.ends?.(error) ? EMPTY : throwError(() => error))),
        finalize(() => {
          stopWatch.unsubscribe();
          void connection.close().catch(() => connection.destroy());
        }),
      )),
      ignoreElements(),
    );
  }
}
