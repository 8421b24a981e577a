/**
 * Commits the batches of a round (one per partition of a lane): each
 * projection's writes, dead letters and checkpoints, in one MULTI/EXEC, only if
 * every checkpoint is still what the round was planned against
 * (compare-and-set) and every lease is still ours (fencing). A redelivered
 * entry at or below a checkpoint is left out before planning, so it changes
 * nothing; a concurrent owner makes the CAS fail and the round is re-planned.
 *
 * The compare-and-set is WATCH on the lane loop's own connection: the leases
 * and the checkpoints are watched and read together with the documents (one
 * round trip), the writes are planned, and the EXEC runs only if none of the
 * watched keys changed meanwhile. A Lua script did the same in one call, but
 * Redis copied every argument (the documents, a batch's writes) into Lua and
 * back: about 15 µs of its CPU per event (bench/projection.ts). A WATCH needs a
 * connection nobody else uses between WATCH and EXEC: the lane's, one commit
 * at a time (the caller serialises them).
 *
 * Two ways in: `commitTogether` commits every projection of a round and
 * acknowledges its batches in one transaction (the usual case), and
 * `commitBatch` commits one projection for one partition alone (its retries,
 * with backoff and dead letters, when it failed in the shared round).
 */
import { WatchError } from 'redis';
import type { RedisClient } from '../../platform/redis/client.ts';
import { readModelKeys, VIEW_CHANGED_CHANNEL } from '../../shared/read-models.ts';
import { checkpointKey, compareStreamIds, CONSUMER_GROUPS, deadLetterKey, leaseKey, streamKey } from '../../shared/streams.ts';
import type { Projection } from '../projection.ts';
import { CommitWrites } from './commit-writes.ts';
import type { Delivery } from './decode.ts';
import { CheckpointMovedError, LeaseLostError } from './errors.ts';
import { documentKeys, planBatch, type Failure } from './plan-batch.ts';

/** XACK ids per command. */
const ACK_CHUNK = 1000;
/** A shared round whose EXEC was dropped (mostly: our own lease renewal touched the lease) is planned again this often. */
const TOGETHER_ATTEMPTS = 3;

export interface BatchToCommit {
  partition: number;
  /** The lease owner committing: a commit by a process that lost the lease is refused (fencing). */
  owner: string;
  /** In stream order. */
  deliveries: readonly Delivery[];
  now: () => number;
}

export interface CommitRequest extends BatchToCommit {
  projection: Projection;
  /** How many times this batch has been tried, this one included. */
  attempt: number;
  /** On the last attempt failures go to the dead-letter stream instead of failing the batch. */
  deadLetter: boolean;
}

export type CommitResult =
  | { outcome: 'committed'; applied: number; deadLettered: number; checkpoint: string }
  | { outcome: 'failed'; failures: Failure[] };

export type Committed = Extract<CommitResult, { outcome: 'committed' }>;

/** One projection's share of a commit (over one batch, or the batches of a round), planned. */
interface Share {
  /** Each checkpoint that moves, and its new value (the last fresh stream id of its batch). */
  checkpoints: Array<[key: string, last: string]>;
  writes: string[][];
  /** The views whose version grows with this commit: the projection's, when it changed something. */
  views: readonly string[];
  /** Per batch, in order. A projection that failed on some events of a round fails for every batch of it. */
  results: CommitResult[];
}

/** A batch's acknowledgement. */
interface Ack {
  partition: number;
  ids: readonly string[];
}

/**
 * One projection alone, on the partition loop's connection. Throws
 * CheckpointMovedError when the lease or the checkpoint changed before the
 * EXEC (nothing was written: plan again), LeaseLostError when the lease is gone.
 */
export async function commitBatch(connection: RedisClient, request: CommitRequest): Promise<CommitResult> {
  const { projection, partition } = request;
  const keys = documentKeysOf(projection, request.deliveries);
  const { checkpoints, documents } = await watchAndRead(connection, [request], [checkpointKey(projection.name, partition)], keys);
  const share = planShare([request], projection, checkpoints, own(keys, documents), request.attempt, request.deadLetter);
  const [result] = share.results as [CommitResult];
  if (result.outcome === 'failed' || share.checkpoints.length === 0) {
    await connection.unwatch();
    return result;
  }
  await execCommit(connection, [share], []);
  return result;
}

export interface TogetherResult {
  /** The projections committed, by name. */
  committed: Map<string, Committed>;
  /** Those that failed on some events: to be retried alone (commitBatch), with backoff. */
  failed: Array<{ projection: Projection; failures: Failure[] }>;
  /** Whether the batch was acknowledged too (only when every projection committed). */
  acknowledged: boolean;
}

/**
 * Every projection of a first attempt, for the batches of a round (one per
 * partition, all owned by `batches[0].owner`), in one round: the reads under
 * WATCH, one MULTI/EXEC for all their writes and checkpoints and the
 * acknowledgement of each batch whose projections all committed. Returns one
 * result per batch, in their order. Throws CheckpointMovedError when the watched
 * keys kept changing (nothing was written), LeaseLostError when a lease is gone.
 */
export async function commitTogether(
  connection: RedisClient,
  batches: readonly BatchToCommit[],
  projections: readonly Projection[],
  /** True when a first attempt is also the last (a retry budget of one): failures go to dead letters at once. */
  deadLetter: boolean,
): Promise<TogetherResult[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await commitTogetherOnce(connection, batches, projections, deadLetter);
    } catch (error) {
      if (!(error instanceof CheckpointMovedError) || attempt >= TOGETHER_ATTEMPTS) throw error;
    }
  }
}

async function commitTogetherOnce(
  connection: RedisClient, batches: readonly BatchToCommit[], projections: readonly Projection[], deadLetter: boolean,
): Promise<TogetherResult[]> {
  const deliveries = batches.flatMap((b) => b.deliveries);
  const keys = projections.map((p) => documentKeysOf(p, deliveries));
  const wanted = new Map<string, string>();
  for (const redisKey of keys.flatMap((k) => [...k.values()])) wanted.set(redisKey, redisKey);
  const checkpointKeys = projections.flatMap((p) => batches.map((b) => checkpointKey(p.name, b.partition)));
  const { checkpoints, documents } = await watchAndRead(connection, batches, checkpointKeys, wanted);

  const results = batches.map((): TogetherResult => ({ committed: new Map(), failed: [], acknowledged: false }));
  const shares: Share[] = [];
  projections.forEach((projection, i) => {
    const expected = checkpoints.slice(i * batches.length, (i + 1) * batches.length);
    const share = planShare(batches, projection, expected, own(keys[i]!, documents), 1, deadLetter);
    share.results.forEach((result, b) => {
      if (result.outcome === 'failed') results[b]!.failed.push({ projection, failures: result.failures });
      else results[b]!.committed.set(projection.name, result);
    });
    if (share.checkpoints.length > 0 && share.results.every((r) => r.outcome === 'committed')) shares.push(share);
  });
  const acks: Ack[] = [];
  batches.forEach((batch, b) => {
    results[b]!.acknowledged = results[b]!.failed.length === 0;
    if (results[b]!.acknowledged) acks.push({ partition: batch.partition, ids: batch.deliveries.map((d) => d.streamId) });
  });
  if (shares.length > 0 || acks.length > 0) {
    await execCommit(connection, shares, acks);
  } else {
    await connection.unwatch();
  }
  return results;
}

/** A projection's documents by its own key, from the documents read by Redis key. */
function own(keys: ReadonlyMap<string, string>, documents: ReadonlyMap<string, unknown>): Map<string, unknown> {
  const mine = new Map<string, unknown>();
  for (const [key, redisKey] of keys) if (documents.has(redisKey)) mine.set(key, documents.get(redisKey));
  return mine;
}

/**
 * The documents a projection needs for these deliveries: its key → Redis key (none for counters).
 * Read before the checkpoints are known, so a redelivered entry's document may be read for nothing.
 */
function documentKeysOf(projection: Projection, deliveries: readonly Delivery[]): Map<string, string> {
  return projection.kind === 'keyed' ? documentKeys(projection, deliveries) : new Map();
}

/** A batch is in stream order, so what is fresh is a suffix: usually all of it, after one comparison. */
function freshDeliveries(deliveries: readonly Delivery[], expected: string): readonly Delivery[] {
  if (expected === '') return deliveries;
  const first = deliveries.findIndex((d) => compareStreamIds(d.streamId, expected) > 0);
  return first < 0 ? [] : deliveries.slice(first);
}

/**
 * A projection's writes for the fresh deliveries of these batches (each after
 * its checkpoint `expected[b]`), planned as one: a key belongs to one partition,
 * so its events are in stream order, and counters add up in any order.
 */
function planShare(
  batches: readonly BatchToCommit[],
  projection: Projection,
  expected: readonly string[],
  documents: ReadonlyMap<string, unknown>,
  attempt: number,
  deadLetter: boolean,
): Share {
  const parts = batches.map((batch, b) => ({ batch, expected: expected[b]!, fresh: freshDeliveries(batch.deliveries, expected[b]!) }));
  const partitionOf = new Map<Delivery, number>();
  for (const { batch, fresh } of parts) for (const d of fresh) partitionOf.set(d, batch.partition);
  const plan = planBatch(projection, [...partitionOf.keys()], documents);
  const failuresOf = (partition: number) => plan.failures.filter((f) => partitionOf.get(f.delivery) === partition);
  if (plan.failures.length > 0 && !deadLetter) {
    const results = parts.map(({ batch }): CommitResult => ({ outcome: 'failed', failures: failuresOf(batch.partition) }));
    return { checkpoints: [], writes: [], views: [], results };
  }
  const writes = new CommitWrites();
  writes.group('MSET', [], plan.documents.flatMap((d) => [d.key, d.json]), 2);
  for (const change of plan.changes) writes.add(change);
  for (const failure of plan.failures) {
    writes.command('XADD', [deadLetterKey(projection.name), '*',
      'event', failure.delivery.raw, 'error', failure.error, 'attempts', String(attempt),
      'streamId', failure.delivery.streamId, 'partition', String(partitionOf.get(failure.delivery)), 'failedAt', String(batches[0]!.now())]);
  }
  const moved = parts.filter((part) => part.fresh.length > 0);
  const changed = plan.documents.length > 0 || plan.changes.length > 0;
  return {
    checkpoints: moved.map(({ batch, fresh }) => [checkpointKey(projection.name, batch.partition), fresh.at(-1)!.streamId]),
    writes: writes.commands(),
    views: changed ? projection.views : [],
    results: parts.map(({ batch, expected: before, fresh }): CommitResult => {
      const deadLettered = failuresOf(batch.partition).length;
      return { outcome: 'committed', applied: fresh.length - deadLettered, deadLettered, checkpoint: fresh.at(-1)?.streamId ?? before };
    }),
  };
}

/**
 * Watches the batches' leases and these checkpoints, and reads them and the
 * documents (Redis keys), in one round trip. The documents are not watched: only
 * a partition's owner writes them, behind its checkpoints.
 */
async function watchAndRead(
  connection: RedisClient, batches: readonly BatchToCommit[], checkpointKeys: readonly string[], documentKeys: ReadonlyMap<string, string>,
): Promise<{ checkpoints: string[]; documents: Map<string, unknown> }> {
  const leases = batches.map((b) => leaseKey(CONSUMER_GROUPS.live, b.partition));
  const redisKeys = [...documentKeys.values()];
  const [, held, values] = await Promise.all([
    connection.watch([...leases, ...checkpointKeys]),
    connection.mGet([...leases, ...checkpointKeys]),
    redisKeys.length > 0 ? connection.mGet(redisKeys) : Promise.resolve([]),
  ]);
  const lost = batches.find((batch, i) => held[i] !== batch.owner);
  if (lost) {
    await connection.unwatch();
    throw new LeaseLostError(`partition ${lost.partition}: the lease is no longer ours`);
  }
  const documents = new Map<string, unknown>();
  values.forEach((json, i) => {
    if (json) documents.set(redisKeys[i]!, JSON.parse(json));
  });
  return { checkpoints: held.slice(leases.length).map((c) => c ?? ''), documents };
}

/**
 * The shares' writes, then the version of each view they changed (once, however
 * many shares changed it) and its notice, then their checkpoints, then the
 * acknowledgements, as one transaction: dropped, with nothing written, if a
 * watched key changed since watchAndRead.
 */
async function execCommit(connection: RedisClient, shares: readonly Share[], acks: readonly Ack[]): Promise<void> {
  const multi = connection.multi();
  for (const share of shares) for (const command of share.writes) multi.addCommand(command);
  for (const view of new Set(shares.flatMap((s) => s.views))) {
    multi.addCommand(['INCR', readModelKeys.viewVersion(view)]);
    multi.addCommand(['PUBLISH', VIEW_CHANGED_CHANNEL, view]);
  }
  const checkpoints = shares.flatMap((s) => s.checkpoints.flat());
  if (checkpoints.length > 0) multi.addCommand(['MSET', ...checkpoints]);
  for (const { partition, ids } of acks) {
    for (let at = 0; at < ids.length; at += ACK_CHUNK) {
      multi.addCommand(['XACK', streamKey(partition), CONSUMER_GROUPS.live, ...ids.slice(at, at + ACK_CHUNK)]);
    }
  }
  try {
    await multi.exec();
  } catch (error) {
    if (!(error instanceof WatchError)) throw error;
    const names = shares.flatMap((s) => s.checkpoints.map(([key]) => key)).join(', ') || 'acknowledgement only';
    throw new CheckpointMovedError(`a lease or a checkpoint changed while planning (${names})`);
  }
}
