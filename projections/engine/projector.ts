/**
 * The "live" consumer group: projects the partition streams into the Redis
 * read models. The owned partitions are shared among `concurrency` lanes, each
 * one pull-based loop (OwnedPartitions: the next round is read only after the
 * last one is committed and acknowledged). A round reads new entries of all the
 * lane's partitions at once, and every projection commits them, with their
 * acknowledgements, in one transaction. A projection that fails on some events
 * of a partition goes on alone there, with its own retries and dead letters,
 * so it never holds back the others' writes, only that batch's acknowledgement
 * (and the lane's next round).
 *
 * Why lanes: a round costs four Redis round trips whatever it holds, each a
 * write and a read on both sides, tens of µs of CPU on a VM. A loop per
 * partition, at 5,000 events/s over 16 partitions, committed batches of 3 or 4
 * events and spent most of its CPU on round trips; and at full speed, sixteen
 * batches in flight kept megabytes of decoded events alive across every round
 * trip, which the garbage collector copied again and again. Four lanes still
 * overlap Redis and planning.
 */
import os from 'node:os';
import pLimit, { type LimitFunction } from 'p-limit';
import {
  catchError, concatMap, defer, EMPTY, exhaustMap, finalize, from, interval, map, mergeMap, type Observable, of, retry, Subject,
  Subscription, timer, toArray,
} from 'rxjs';
import type { RedisClient } from '../../platform/redis/client.ts';
import type { Registry } from '../../shared/registry.ts';
import { CONSUMER_GROUPS, streamKey } from '../../shared/streams.ts';
import type { Projection } from '../projection.ts';
import { backoffMs, type BackoffPolicy } from '../../platform/retry/backoff.ts';
import { commitBatch, commitTogether, type CommitResult } from './commit-batch.ts';
import { CheckpointMovedError, LeaseLostError, ProjectionFailedError } from './errors.ts';
import { decode, type Delivery } from './decode.ts';
import type { PartitionLeases } from './leases.ts';
import { OwnedPartitions } from './owned-partitions.ts';
import type { LaneEntry } from './partition-reader.ts';
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
  /** Lanes: loops over the owned partitions, each with one round (read, decoded, planned, committed) at a time. */
  concurrency: number;
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
  /** Commits of a projection that failed (it threw, or Redis failed) and were tried again. */
  retries: number;
  /** ms from ingest acceptance to commit, one per entry. */
  latenciesMs: number[];
}

export class Projector {
  readonly ownerId: string;
  readonly #partitions: OwnedPartitions;
  readonly #committed = new Subject<BatchCommitted>();
  /** Every committed batch. */
  readonly committed$ = this.#committed.asObservable();
  readonly #options: Required<Omit<ProjectorOptions, 'ownerId'>>;
  #trimming = new Subscription();

  constructor(options: ProjectorOptions) {
    this.ownerId = options.ownerId ?? `${os.hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    this.#options = { now: Date.now, random: Math.random, log: () => {}, ...options };
    const { redis, partitions, batchSize, batchWaitMs, leaseTtlMs, pendingIdleMs, retry: policy, concurrency, now, random, log } = this.#options;
    this.#partitions = new OwnedPartitions(redis, {
      group: CONSUMER_GROUPS.live, partitions, lanes: concurrency, readAhead: true, ownerId: this.ownerId, leaseTtlMs, batchSize,
      blockMs: batchWaitMs, pendingIdleMs, retry: policy, now, random, log: (line) => log(`projector: ${line}`),
    }, {
      round: (_lane, reader) => defer(() => reader.next()).pipe(
        concatMap((entries) => (entries.length > 0 ? this.#processRound(reader.connection, entries) : of(undefined))),
      ),
    });
  }

  get leases(): PartitionLeases {
    return this.#partitions.leases;
  }

  async start(): Promise<void> {
    const { redis, log, now } = this.#options;
    await this.#partitions.start();
    this.#trimming = interval(TRIM_EVERY_MS).pipe(
      exhaustMap(() => defer(() => trimAcknowledged(redis, [...this.leases.owned], { keepSince: now() - KEEP_ON_BUS_MS })).pipe(catchError((error: Error) => {
        log(`projector: trimming the streams failed: ${error.message}`);
        return EMPTY;
      }))),
    ).subscribe();
  }

  /** Finishes the batches in flight, then gives up every lease. */
  async stop(): Promise<void> {
    if (this.#partitions.stopped) return;
    this.#trimming.unsubscribe();
    await this.#partitions.stop();
    this.#committed.complete();
  }

  /** Commits a round on `connection`, the lane loop's own, one transaction at a time. */
  #processRound(connection: RedisClient, entries: readonly LaneEntry[]): Observable<void> {
    const { redis, registry, now } = this.#options;
    const batches = byPartition(entries).map(([partition, ofPartition]) => ({
      partition, entries: ofPartition, deliveries: ofPartition.map((e) => decode(e, registry)),
    }));
    // Projections retried alone wait out their backoffs side by side, but each WATCH … EXEC needs the connection to itself.
    const exclusive = pLimit(1);
    return defer(() => this.#commitTogether(connection, batches)).pipe(
      // Projections that failed on some events of a batch, or all of them if the shared round failed, go on alone.
      concatMap((outcomes) => from(batches).pipe(mergeMap((batch, i) => {
        const together = outcomes[i]!;
        const retried = { count: 0 };
        return from(together.rest).pipe(
          mergeMap(({ projection, failedBefore }) =>
            this.#commitWithRetry(projection, batch.partition, connection, exclusive, batch.deliveries, failedBefore, retried)),
          toArray(),
          concatMap(async (results) => {
            if (!together.acknowledged) await redis.xAck(streamKey(batch.partition), CONSUMER_GROUPS.live, batch.entries.map((e) => e.id));
            const committedAt = now();
            this.#committed.next({
              partition: batch.partition,
              entries: batch.entries.length,
              deadLettered: [...together.committed, ...results].reduce((n, r) => n + (r.outcome === 'committed' ? r.deadLettered : 0), 0),
              retries: retried.count,
              latenciesMs: batch.deliveries.map((d) => committedAt - d.acceptedAt),
            });
          }),
        );
      }))),
      // A round that ended (an error, a stop) starts no queued commit: the loop may read on the connection again.
      finalize(() => exclusive.clearQueue()),
    );
  }

  /**
   * The first attempt of every projection over the round's batches in one
   * transaction (one read, the acknowledgements included). Whatever it could not
   * commit is left in each batch's `rest` for the per-projection path, with its retries and backoff.
   */
  async #commitTogether(connection: RedisClient, batches: ReadonlyArray<{ partition: number; deliveries: readonly Delivery[] }>) {
    const { projections, retry: policy, now, log } = this.#options;
    try {
      const together = await commitTogether(connection, batches.map((b) => ({ ...b, owner: this.ownerId, now })), projections, policy.attempts <= 1);
      return together.map((outcome) => ({
        committed: [...outcome.committed.values()] as CommitResult[],
        // A projection that failed on another partition's events of the round tries this batch again at once.
        rest: outcome.failed.map(({ projection, failures }) => {
          if (failures.length === 0) return { projection, failedBefore: 0 };
          log(`projector: ${new ProjectionFailedError(projection.name, failures).message}; attempt 1 of ${policy.attempts}`);
          return { projection, failedBefore: 1 };
        }),
        acknowledged: outcome.acknowledged,
      }));
    } catch (error) {
      if (error instanceof LeaseLostError) throw error;
      // The checkpoints kept moving (or Redis failed): let each projection go alone.
      if (!(error instanceof CheckpointMovedError)) {
        const partitions = batches.map((b) => b.partition).join(', ');
        log(`projector: partitions ${partitions} commit failed (${(error as Error).message}); committing projection by projection`);
      }
      return batches.map(() => ({
        committed: [] as CommitResult[], rest: projections.map((projection) => ({ projection, failedBefore: 0 })), acknowledged: false,
      }));
    }
  }

  /** One projection alone, after `failedBefore` failed attempts (a backoff first if there were any); counts its retries. */
  #commitWithRetry(
    projection: Projection, partition: number, connection: RedisClient, exclusive: LimitFunction,
    deliveries: readonly Delivery[], failedBefore: number, retried: { count: number },
  ): Observable<CommitResult> {
    const { retry: policy, now, log, random } = this.#options;
    let failedAttempts = failedBefore;
    retried.count += failedBefore;
    const pause = failedBefore > 0 ? timer(backoffMs(policy, failedBefore, random)) : of(0);
    const attempts = defer(() => exclusive(() => commitBatch(connection, {
      projection, partition, deliveries, now, owner: this.ownerId,
      attempt: failedAttempts + 1,
      deadLetter: failedAttempts + 1 >= policy.attempts,
    }))).pipe(
      map((result) => {
        if (result.outcome === 'failed') throw new ProjectionFailedError(projection.name, result.failures);
        if (result.deadLettered > 0) {
          log(`projector: ${projection.name} dead-lettered ${result.deadLettered} event(s) of partition ${partition} after ${policy.attempts} attempts`);
        }
        return result;
      }),
      retry({
        delay: (error: Error, count) => {
          // Another writer moved it (or our lease renewal touched the lease): read again and re-plan at once.
          if (error instanceof CheckpointMovedError) return of(0);
          retried.count++; // a moved checkpoint (above) is a re-plan, not a failure
          if (error instanceof ProjectionFailedError) {
            failedAttempts++;
            log(`projector: ${error.message}; attempt ${failedAttempts} of ${policy.attempts}`);
            return timer(backoffMs(policy, failedAttempts, this.#options.random));
          }
          return this.#partitions.backoffAfter(`${projection.name} commit`, error, count);
        },
      }),
    );
    return pause.pipe(concatMap(() => attempts));
  }
}

/** A round's entries by partition, each partition's in stream order. */
function byPartition(entries: readonly LaneEntry[]): Array<[number, LaneEntry[]]> {
  const batches = new Map<number, LaneEntry[]>();
  for (const entry of entries) {
    const batch = batches.get(entry.partition);
    if (batch) batch.push(entry);
    else batches.set(entry.partition, [entry]);
  }
  return [...batches];
}
