/**
 * The "live" consumer group: projects the partition streams into the Redis
 * read models. Per owned partition, one pull-based loop (the next batch is read
 * only after the last one is committed and acknowledged); per batch, every
 * projection commits in one round with the acknowledgement. A projection that
 * fails on some events goes on alone, with its own retries and dead letters,
 * so it never holds back the others' writes, only the batch's acknowledgement.
 */
import os from 'node:os';
import {
  catchError, concatMap, defer, EMPTY, exhaustMap, finalize, from, ignoreElements, interval, lastValueFrom, map,
  mergeMap, type Observable, of, repeat, retry, Subject, Subscription, takeUntil, throwError, timer, toArray,
} from 'rxjs';
import type { RedisClient } from '../../platform/redis/client.ts';
import type { Registry } from '../../shared/registry.ts';
import { CONSUMER_GROUPS, streamKey } from '../../shared/streams.ts';
import type { Projection } from '../projection.ts';
import { backoffMs, type BackoffPolicy } from './backoff.ts';
import { commitBatch, commitTogether, type CommitResult } from './commit-batch.ts';
import { CheckpointMovedError, LeaseLostError, ProjectionFailedError } from './errors.ts';
import { decode, type Delivery, type StreamEntry } from './decode.ts';
import { ensureGroup } from './groups.ts';
import { PartitionLeases } from './leases.ts';
import { PartitionReader } from './partition-reader.ts';
import { trimAcknowledged } from './retention.ts';

/** How often the streams of owned partitions are trimmed below what every group acknowledged. */
const TRIM_EVERY_MS = 60_000;
/** The last hour stays on the bus in any case, for inspection and re-delivery. */
const KEEP_ON_BUS_MS = 60 * 60_000;

export interface ProjectorOptions {
  redis: RedisClient;
  registry: Registry;
  projections: readonly Projection[];
  partitions: number;
  batchSize: number;
  batchWaitMs: number;
  leaseTtlMs: number;
  pendingIdleMs: number;
  retry: BackoffPolicy & { attempts: number };
  now?: () => number;
  random?: () => number;
  log?: (line: string) => void;
  ownerId?: string;
}

/** What one committed batch did, for metrics and benchmarks. */
export interface BatchCommitted {
  partition: number;
  entries: number;
  deadLettered: number;
  /** ms from ingest acceptance to commit, one per entry. */
  latenciesMs: number[];
}

export class Projector {
  readonly ownerId: string;
  readonly leases: PartitionLeases;
  readonly #committed = new Subject<BatchCommitted>();
  /** Every committed batch. */
  readonly committed$ = this.#committed.asObservable();
  readonly #options: Required<Omit<ProjectorOptions, 'ownerId'>>;
  readonly #loops = new Map<number, { stop: Subject<void>; done: Promise<void> }>();
  /** Last checkpoint this process committed, by projection and partition (a hint: commits verify it). */
  readonly #checkpoints = new Map<string, string>();
  readonly #stopping = new Subject<void>();
  #subscriptions = new Subscription();
  #stopped = false;

  constructor(options: ProjectorOptions) {
    this.ownerId = options.ownerId ?? `${os.hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    this.#options = { now: Date.now, random: Math.random, log: () => {}, ...options };
    this.leases = new PartitionLeases(options.redis, {
      group: CONSUMER_GROUPS.live, partitions: options.partitions, ownerId: this.ownerId,
      ttlMs: options.leaseTtlMs, now: this.#options.now,
    });
  }

  async start(): Promise<void> {
    const { redis, partitions, leaseTtlMs, log } = this.#options;
    for (let p = 0; p < partitions; p++) await ensureGroup(redis, streamKey(p), CONSUMER_GROUPS.live);
    await this.leases.tick();
    // Renew at a third of the TTL: two missed rounds still keep the leases.
    this.#subscriptions.add(interval(leaseTtlMs / 3).pipe(
      exhaustMap(() => defer(() => this.leases.tick()).pipe(catchError((error: Error) => {
        log(`projector: lease round failed: ${error.message}`);
        return EMPTY;
      }))),
      takeUntil(this.#stopping),
    ).subscribe());
    this.#subscriptions.add(this.leases.owned$.subscribe((owned) => this.#follow(owned)));
    this.#subscriptions.add(interval(TRIM_EVERY_MS).pipe(
      exhaustMap(() => defer(() => trimAcknowledged(redis, [...this.leases.owned], { keepSince: this.#options.now() - KEEP_ON_BUS_MS })).pipe(catchError((error: Error) => {
        log(`projector: trimming the streams failed: ${error.message}`);
        return EMPTY;
      }))),
      takeUntil(this.#stopping),
    ).subscribe());
  }

  /** Finishes the batches in flight, then gives up every lease. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#stopping.next();
    for (const loop of this.#loops.values()) loop.stop.next();
    await Promise.all([...this.#loops.values()].map((l) => l.done));
    this.#subscriptions.unsubscribe();
    await this.leases.release().catch(() => undefined);
    this.#committed.complete();
  }

  /** Starts a loop for each newly owned partition; lets loops of lost partitions end after their batch. */
  #follow(owned: ReadonlySet<number>): void {
    for (const [p, loop] of this.#loops) if (!owned.has(p)) loop.stop.next();
    for (const p of owned) {
      if (this.#loops.has(p) || this.#stopped) continue;
      const stop = new Subject<void>();
      // A partition taken over may have moved on under another owner: forget what we knew of it.
      for (const projection of this.#options.projections) this.#checkpoints.delete(`${projection.name}:${p}`);
      const done = lastValueFrom(this.#partitionLoop(p, stop), { defaultValue: undefined })
        .catch((error: Error) => this.#options.log(`projector: partition ${p} stopped: ${error.message}`))
        .then(() => {
          this.#loops.delete(p);
          // Owned again while this loop was winding down: start a fresh one.
          if (this.leases.owned.has(p)) this.#follow(this.leases.owned);
        });
      this.#loops.set(p, { stop, done });
    }
  }

  #partitionLoop(partition: number, stop: Subject<void>): Observable<void> {
    const { redis, batchSize, batchWaitMs, pendingIdleMs, now } = this.#options;
    let stopRequested = false;
    const stopWatch = stop.subscribe(() => (stopRequested = true));
    return defer(async () => {
      // Blocking reads need a connection of their own.
      const connection = redis.duplicate();
      connection.on('error', () => {});
      await connection.connect();
      return connection;
    }).pipe(
      mergeMap((connection) => defer(() => {
        // A fresh reader on every (re)start: it takes this consumer's pending entries first. A read
        // whose reply was lost (Redis died after XREADGROUP ran) left entries delivered but never
        // seen; reading newer ones first would move the checkpoints past them, and they would be skipped.
        const reader = new PartitionReader(connection, partition, {
          group: CONSUMER_GROUPS.live, owner: this.ownerId, batchSize, blockMs: batchWaitMs, pendingIdleMs, now,
        });
        return defer(() => reader.next()).pipe(
          concatMap((entries) => (entries.length > 0 ? this.#processBatch(partition, entries) : of(undefined))),
          // Pull-based: the next read starts only when this batch is done; a stop ends the loop between batches.
          repeat({ delay: () => (stopRequested ? EMPTY : of(0)) }),
        );
      }).pipe(
        // A failed read or acknowledgement (Redis away) starts the loop again after a backoff; nothing unacknowledged is lost.
        retry({ delay: (error: Error, count) => this.#backoffAfter(`partition ${partition} read`, error, count) }),
        // Another process owns the partition now: this loop ends; what it held is claimed by the new owner.
        catchError((error: Error) => (error instanceof LeaseLostError ? EMPTY : throwError(() => error))),
        finalize(() => {
          stopWatch.unsubscribe();
          void connection.close().catch(() => connection.destroy());
        }),
      )),
      ignoreElements(),
    );
  }

  #processBatch(partition: number, entries: StreamEntry[]): Observable<void> {
    const { redis, registry, projections, now } = this.#options;
    const deliveries = entries.map((e) => decode(e, registry));
    return this.#commitTogether(partition, deliveries).pipe(
      // Projections that failed on some events, or all of them if the shared round failed, go on alone.
      concatMap((together) => from(together.rest).pipe(
        mergeMap(({ projection, failedBefore }) => this.#commitWithRetry(projection, partition, deliveries, failedBefore)),
        toArray(),
        concatMap(async (results) => {
          if (!together.acknowledged) await redis.xAck(streamKey(partition), CONSUMER_GROUPS.live, entries.map((e) => e.id));
          const committedAt = now();
          this.#committed.next({
            partition,
            entries: entries.length,
            deadLettered: [...together.committed, ...results].reduce((n, r) => n + (r.outcome === 'committed' ? r.deadLettered : 0), 0),
            latenciesMs: deliveries.map((d) => committedAt - d.acceptedAt),
          });
        }),
      )),
    );
  }

  /**
   * The first attempt of every projection in one round (one read, one script,
   * the acknowledgement included). Whatever that round could not commit is
   * left in `rest` for the per-projection path, with its retries and backoff.
   */
  #commitTogether(partition: number, deliveries: readonly Delivery[]) {
    const { redis, projections, retry: policy, now, log } = this.#options;
    const known = new Map<string, string>();
    for (const p of projections) {
      const checkpoint = this.#checkpoints.get(`${p.name}:${partition}`);
      if (checkpoint !== undefined) known.set(p.name, checkpoint);
    }
    const batch = { partition, owner: this.ownerId, deliveries, now };
    return defer(() => commitTogether(redis, batch, projections, known, policy.attempts <= 1)).pipe(
      map((together) => {
        for (const [name, result] of together.committed) this.#checkpoints.set(`${name}:${partition}`, result.checkpoint);
        const rest = together.failed.map(({ projection, failures }) => {
          log(`projector: ${new ProjectionFailedError(projection.name, failures).message}; attempt 1 of ${policy.attempts}`);
          return { projection, failedBefore: 1 };
        });
        return { committed: [...together.committed.values()], rest, acknowledged: together.acknowledged };
      }),
      catchError((error: Error) => {
        if (error instanceof LeaseLostError) throw error;
        // A checkpoint moved (or Redis failed): forget what we knew and let each projection go alone.
        for (const p of projections) this.#checkpoints.delete(`${p.name}:${partition}`);
        if (!(error instanceof CheckpointMovedError)) log(`projector: partition ${partition} commit failed (${error.message}); committing projection by projection`);
        return of({ committed: [] as CommitResult[], rest: projections.map((projection) => ({ projection, failedBefore: 0 })), acknowledged: false });
      }),
    );
  }

  /** One projection alone, after `failedBefore` failed attempts (a backoff first if there were any). */
  #commitWithRetry(projection: Projection, partition: number, deliveries: readonly Delivery[], failedBefore: number): Observable<CommitResult> {
    const { redis, retry: policy, now, log, random } = this.#options;
    let failedAttempts = failedBefore;
    const hint = `${projection.name}:${partition}`;
    const pause = failedBefore > 0 ? timer(backoffMs(policy, failedBefore, random)) : of(0);
    const attempts = defer(() => commitBatch(redis, {
      projection, partition, deliveries, now, owner: this.ownerId,
      attempt: failedAttempts + 1,
      deadLetter: failedAttempts + 1 >= policy.attempts,
      knownCheckpoint: this.#checkpoints.get(hint),
    })).pipe(
      map((result) => {
        if (result.outcome === 'failed') throw new ProjectionFailedError(projection.name, result.failures);
        this.#checkpoints.set(hint, result.checkpoint);
        if (result.deadLettered > 0) {
          log(`projector: ${projection.name} dead-lettered ${result.deadLettered} event(s) of partition ${partition} after ${policy.attempts} attempts`);
        }
        return result;
      }),
      retry({
        delay: (error: Error, count) => {
          if (error instanceof CheckpointMovedError) {
            this.#checkpoints.delete(hint); // another writer moved it: read it again and re-plan at once
            return of(0);
          }
          if (error instanceof ProjectionFailedError) {
            failedAttempts++;
            log(`projector: ${error.message}; attempt ${failedAttempts} of ${policy.attempts}`);
            return timer(backoffMs(policy, failedAttempts, this.#options.random));
          }
          return this.#backoffAfter(`${projection.name} commit`, error, count);
        },
      }),
    );
    return pause.pipe(concatMap(() => attempts));
  }

  /** Waits before retrying after an infrastructure error (Redis away): capped backoff, no budget. */
  #backoffAfter(what: string, error: Error, count: number): Observable<number> {
    if (error instanceof LeaseLostError || (this.#stopped && count > 3)) throw error;
    this.#options.log(`projector: ${what} failed (${error.message}); retry ${count}`);
    return timer(backoffMs(this.#options.retry, count, this.#options.random));
  }
}
