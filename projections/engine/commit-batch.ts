/**
 * Commits a batch of one partition: each projection's writes, dead letters and
 * checkpoint, in one MULTI/EXEC, only if every checkpoint is still what the
 * batch was planned against (compare-and-set) and the lease is still ours
 * (fencing). A redelivered entry at or below a checkpoint is left out before
 * planning, so it changes nothing; a concurrent owner makes the CAS fail and
 * the batch is re-planned.
 *
 * The compare-and-set is WATCH on the partition loop's own connection: the
 * lease and the checkpoints are watched and read together with the documents
 * (one round trip), the writes are planned, and the EXEC runs only if none of
 * the watched keys changed meanwhile. A Lua script did the same in one call,
 * but Redis copied every argument (the documents, a batch's writes) into Lua
 * and back: about 15 µs of its CPU per event (bench/projection.ts). A WATCH
 * needs a connection nobody else uses between WATCH and EXEC: the loop's, one
 * commit at a time (the caller serialises them).
 *
 * Two ways in: `commitTogether` commits every projection of a batch and
 * acknowledges it in one round (the usual case), and `commitBatch` commits one
 * projection alone (its retries, with backoff and dead letters, when it failed
 * in the shared round).
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

/** One projection's share of a commit, planned. */
interface Share {
  checkpoint: string;
  expected: string;
  /** The checkpoint after the commit; `expected` when nothing was fresh. */
  last: string;
  writes: string[][];
  result: CommitResult;
}

/**
 * One projection alone, on the partition loop's connection. Throws
 * CheckpointMovedError when the lease or the checkpoint changed before the
 * EXEC (nothing was written: plan again), LeaseLostError when the lease is gone.
 */
export async function commitBatch(connection: RedisClient, request: CommitRequest): Promise<CommitResult> {
  const { projection, partition } = request;
  const keys = documentKeysOf(projection, request.deliveries);
  const { checkpoints: [expected = ''], documents } = await watchAndRead(connection, request, [checkpointKey(projection.name, partition)], keys);
  const share = planShare(request, projection, expected, freshDeliveries(request.deliveries, expected), own(keys, documents), request.attempt, request.deadLetter);
  if (share.result.outcome === 'failed' || share.last === expected) {
    await connection.unwatch();
    return share.result;
  }
  await execCommit(connection, request, [share], null);
  return share.result;
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
 * Every projection of a first attempt in one round: the reads under WATCH, one
 * MULTI/EXEC for all their writes and checkpoints and the acknowledgement.
 * Throws CheckpointMovedError when the watched keys kept changing (nothing was
 * written), LeaseLostError when the lease is gone.
 */
export async function commitTogether(
  connection: RedisClient,
  batch: BatchToCommit,
  projections: readonly Projection[],
  /** True when a first attempt is also the last (a retry budget of one): failures go to dead letters at once. */
  deadLetter: boolean,
): Promise<TogetherResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await commitTogetherOnce(connection, batch, projections, deadLetter);
    } catch (error) {
      if (!(error instanceof CheckpointMovedError) || attempt >= TOGETHER_ATTEMPTS) throw error;
    }
  }
}

async function commitTogetherOnce(
  connection: RedisClient, batch: BatchToCommit, projections: readonly Projection[], deadLetter: boolean,
): Promise<TogetherResult> {
  const keys = projections.map((p) => documentKeysOf(p, batch.deliveries));
  const wanted = new Map<string, string>();
  for (const redisKey of keys.flatMap((k) => [...k.values()])) wanted.set(redisKey, redisKey);
  const { checkpoints, documents } = await watchAndRead(connection, batch, projections.map((p) => checkpointKey(p.name, batch.partition)), wanted);

  const result: TogetherResult = { committed: new Map(), failed: [], acknowledged: false };
  const shares: Share[] = [];
  projections.forEach((projection, i) => {
    const expected = checkpoints[i]!;
    const share = planShare(batch, projection, expected, freshDeliveries(batch.deliveries, expected), own(keys[i]!, documents), 1, deadLetter);
    if (share.result.outcome === 'failed') return result.failed.push({ projection, failures: share.result.failures });
    result.committed.set(projection.name, share.result);
    if (share.last !== share.expected) shares.push(share);
  });
  result.acknowledged = result.failed.length === 0;
  if (shares.length > 0 || result.acknowledged) {
    await execCommit(connection, batch, shares, result.acknowledged ? batch.deliveries.map((d) => d.streamId) : null);
  } else {
    await connection.unwatch();
  }
  return result;
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

function planShare(
  batch: BatchToCommit,
  projection: Projection,
  expected: string,
  fresh: readonly Delivery[],
  documents: ReadonlyMap<string, unknown>,
  attempt: number,
  deadLetter: boolean,
): Share {
  const checkpoint = checkpointKey(projection.name, batch.partition);
  if (fresh.length === 0) {
    return { checkpoint, expected, last: expected, writes: [], result: { outcome: 'committed', applied: 0, deadLettered: 0, checkpoint: expected } };
  }
  const plan = planBatch(projection, fresh, documents);
  const last = fresh[fresh.length - 1]!.streamId;
  if (plan.failures.length > 0 && !deadLetter) {
    return { checkpoint, expected, last, writes: [], result: { outcome: 'failed', failures: plan.failures } };
  }
  const writes = new CommitWrites();
  writes.group('MSET', [], plan.documents.flatMap((d) => [d.key, d.json]), 2);
  for (const change of plan.changes) writes.add(change);
  for (const failure of plan.failures) {
    writes.command('XADD', [deadLetterKey(projection.name), '*',
      'event', failure.delivery.raw, 'error', failure.error, 'attempts', String(attempt),
      'streamId', failure.delivery.streamId, 'partition', String(batch.partition), 'failedAt', String(batch.now())]);
  }
  if (plan.documents.length > 0 || plan.changes.length > 0) {
    for (const view of projection.views) {
      writes.command('INCR', [readModelKeys.viewVersion(view)]);
      writes.command('PUBLISH', [VIEW_CHANGED_CHANNEL, view]);
    }
  }
  return {
    checkpoint, expected, last, writes: writes.commands(),
    result: { outcome: 'committed', applied: plan.applied, deadLettered: plan.failures.length, checkpoint: last },
  };
}

/**
 * Watches the partition's lease and these checkpoints, and reads them and the
 * documents (Redis keys), in one round trip. The documents are not watched: only
 * this partition's owner writes them, behind its checkpoints.
 */
async function watchAndRead(
  connection: RedisClient, batch: BatchToCommit, checkpointKeys: readonly string[], documentKeys: ReadonlyMap<string, string>,
): Promise<{ checkpoints: string[]; documents: Map<string, unknown> }> {
  const lease = leaseKey(CONSUMER_GROUPS.live, batch.partition);
  const redisKeys = [...documentKeys.values()];
  const [, [holder, ...checkpoints], values] = await Promise.all([
    connection.watch([lease, ...checkpointKeys]),
    connection.mGet([lease, ...checkpointKeys]),
    redisKeys.length > 0 ? connection.mGet(redisKeys) : Promise.resolve([]),
  ]);
  if (holder !== batch.owner) {
    await connection.unwatch();
    throw new LeaseLostError(`partition ${batch.partition}: the lease is no longer ours`);
  }
  const documents = new Map<string, unknown>();
  values.forEach((json, i) => {
    if (json) documents.set(redisKeys[i]!, JSON.parse(json));
  });
  return { checkpoints: checkpoints.map((c) => c ?? ''), documents };
}

/**
 * The shares' writes, then their checkpoints, then the acknowledgement of
 * `ackIds` (when given), as one transaction: dropped, with nothing written, if a
 * watched key changed since watchAndRead.
 */
async function execCommit(connection: RedisClient, batch: BatchToCommit, shares: readonly Share[], ackIds: readonly string[] | null): Promise<void> {
  const { partition } = batch;
  const multi = connection.multi();
  for (const share of shares) for (const command of share.writes) multi.addCommand(command);
  for (const share of shares) multi.addCommand(['SET', share.checkpoint, share.last]);
  for (let at = 0; ackIds && at < ackIds.length; at += ACK_CHUNK) {
    multi.addCommand(['XACK', streamKey(partition), CONSUMER_GROUPS.live, ...ackIds.slice(at, at + ACK_CHUNK)]);
  }
  try {
    await multi.exec();
  } catch (error) {
    if (!(error instanceof WatchError)) throw error;
    const names = shares.map((s) => s.checkpoint).join(', ') || 'acknowledgement only';
    throw new CheckpointMovedError(`partition ${partition}: the lease or a checkpoint changed while planning (${names})`);
  }
}
