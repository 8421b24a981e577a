/**
 * One consumer group's share of the partitions, in this process: the leases
 * (taken and renewed on a timer of their own, so a batch retrying through a
 * long outage keeps its partition) and one pull-based loop per lane, on a
 * connection of its own since reads block. A lane is a set of owned partitions
 * read together: partition p is in lane p mod `lanes`. Both groups run on it:
 * the projector ("live", a few lanes, so that a round's Redis round trips serve
 * several partitions) and the history writer ("history", a lane per partition);
 * each says what one round of a lane does (read a batch, handle it) and the
 * loop repeats it.
 */
import {
  catchError, defer, EMPTY, exhaustMap, finalize, from, ignoreElements, interval, lastValueFrom, mergeMap,
  type Observable, type ObservableInput, of, repeat, retry, Subject, Subscription, takeUntil, throwError, timer,
} from 'rxjs';
import type { RedisClient } from '../../platform/redis/client.ts';
import { streamKey, type ConsumerGroup } from '../../shared/streams.ts';
import type { BackoffPolicy } from '../../platform/retry/backoff.ts';
import { waitAfterFailure } from '../../platform/retry/wait-after-failure.ts';
import { LeaseLostError } from './errors.ts';
import { ensureGroup } from './groups.ts';
import { PartitionLeases } from './leases.ts';
import { PartitionReader, ReadAhead, type BatchSource } from './partition-reader.ts';

export interface OwnedPartitionsOptions {
  group: ConsumerGroup;
  partitions: number;
  /** Loops over the owned partitions (default: one per partition). */
  lanes?: number;
  /** Each lane reads its next batch while the last one is handled, on a second connection. */
  readAhead?: boolean;
  /** The lease owner, which is also the consumer name in the group. */
  ownerId: string;
  leaseTtlMs: number;
  /** Entries a round reads at most, over the lane's partitions. */
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
   * One round of a lane (its partitions, in order): read a batch with the reader
   * and handle it. The loop starts the next round when this one completes; an
   * error starts the loop again after a backoff, with a fresh reader.
   */
  round(lane: readonly number[], reader: BatchSource, stopped: () => boolean): ObservableInput<unknown>;
  /** Errors that end a partition's loop quietly, besides a lost lease. */
  ends?(error: unknown): boolean;
}

export class OwnedPartitions {
  readonly leases: PartitionLeases;
  /** Loops by lane number, with the partitions each reads. */
  readonly #loops = new Map<number, { partitions: string; stop: Subject<void>; done: Promise<void> }>();
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

  /**
   * Starts a loop for each lane with owned partitions; a lane whose partitions
   * changed ends after its round and starts again with its new partitions.
   */
  #follow(owned: ReadonlySet<number>): void {
    const lanes = this.#lanes(owned);
    for (const [n, loop] of this.#loops) if (loop.partitions !== lanes.get(n)?.join()) loop.stop.next();
    for (const [n, partitions] of lanes) {
      if (this.#loops.has(n) || this.#stopped) continue;
      const stop = new Subject<void>();
      const done = lastValueFrom(this.#loop(partitions, stop), { defaultValue: undefined })
        .catch((error: Error) => this.options.log(`${this.options.group}: ${laneName(partitions)} stopped: ${error.message}`))
        .then(() => {
          this.#loops.delete(n);
          // Still (or again) owned while this loop was winding down: start a fresh one.
          if (this.#lanes(this.leases.owned).has(n)) this.#follow(this.leases.owned);
        });
      this.#loops.set(n, { partitions: partitions.join(), stop, done });
    }
  }

  async #connect(): Promise<RedisClient> {
    const connection = this.redis.duplicate();
    connection.on('error', () => {});
    await connection.connect();
    return connection;
  }

  /** The owned partitions by lane number, in order. */
  #lanes(owned: ReadonlySet<number>): Map<number, number[]> {
    const { lanes = this.options.partitions } = this.options;
    const byLane = new Map<number, number[]>();
    for (const p of [...owned].sort((a, b) => a - b)) {
      const n = p % lanes;
      byLane.set(n, [...(byLane.get(n) ?? []), p]);
    }
    return byLane;
  }

  #loop(partitions: readonly number[], stop: Subject<void>): Observable<void> {
    const { group, ownerId: owner, batchSize, blockMs, pendingIdleMs, now } = this.options;
    let stopRequested = false;
    const stopWatch = stop.subscribe(() => (stopRequested = true));
    const stopped = () => stopRequested || this.#stopped;
    return defer(() => this.#connect()).pipe(
      mergeMap((connection) => defer(async () => (this.options.readAhead ? this.#connect() : connection)).pipe(
        mergeMap((reads) => {
          // A fresh reader on every (re)start: it takes this consumer's pending entries first. A read
          // whose reply was lost (Redis died after XREADGROUP ran) left entries delivered but never
          // seen; reading newer ones first would move the projections' checkpoints past them.
          const reader = new PartitionReader(reads, partitions, { group, owner, batchSize, blockMs, pendingIdleMs, now });
          const source = reads === connection ? reader : new ReadAhead(connection, reader);
          return defer(() => from(this.work.round(partitions, source, stopped))).pipe(
            // Pull-based: the next round starts only when this one is done; a stop ends the loop between rounds.
            repeat({ delay: () => (stopped() ? EMPTY : of(0)) }),
            // A read ahead still waiting dies with its connection; what it took stays pending for the next reader.
            finalize(() => reads !== connection && close(reads)),
          );
        }),
      ).pipe(
        // A failed read or acknowledgement starts the loop again after a backoff; nothing unacknowledged is lost.
        retry({ delay: (error: Error, count) => this.backoffAfter(laneName(partitions), error, count) }),
        // Another process owns a partition now (or the work gave up): what it held is claimed by the next owner.
        // After a lost lease the loop ends after a pause: until the next lease round notices, the lease still
        // looks ours here, and a loop started again at once would only fail again, on a new connection each time.
        catchError((error: Error) => {
          if (error instanceof LeaseLostError) return timer(this.options.leaseTtlMs / 10).pipe(takeUntil(stop), ignoreElements());
          return this.work.ends?.(error) ? EMPTY : throwError(() => error);
        }),
        finalize(() => {
          stopWatch.unsubscribe();
          close(connection);
        }),
      )),
      ignoreElements(),
    );
  }
}

function laneName(partitions: readonly number[]): string {
  return `partition${partitions.length > 1 ? 's' : ''} ${partitions.join(', ')}`;
}

function close(connection: RedisClient): void {
  void connection.close().catch(() => connection.destroy());
}
