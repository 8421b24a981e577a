/**
 * Commits a batch of one partition: each projection's writes, dead letters and
 * checkpoint, in one Lua call, only if every checkpoint is still what the batch
 * was planned against (compare-and-set) and the lease is still ours (fencing).
 * A redelivered entry at or below a checkpoint is left out before planning, so
 * it changes nothing; a concurrent owner makes the CAS fail and the batch is re-planned.
 *
 * Two ways in: `commitTogether` commits every projection of a batch and
 * acknowledges it in one round (the usual case: one MGET, one script), and
 * `commitBatch` commits one projection alone (its retries, with backoff and
 * dead letters, when it failed in the shared round).
 */
import type { RedisClient } from '../../platform/redis/client.ts';
import { LuaScript } from '../../platform/redis/lua-script.ts';
import { readModelKeys, VIEW_CHANGED_CHANNEL } from '../../shared/read-models.ts';
import { checkpointKey, compareStreamIds, CONSUMER_GROUPS, deadLetterKey, leaseKey, streamKey } from '../../shared/streams.ts';
import type { Projection } from '../projection.ts';
import { COMMIT_COMMANDS, CommitWrites } from './commit-writes.ts';
import type { Delivery } from './decode.ts';
import { CheckpointMovedError, LeaseLostError } from './errors.ts';
import { documentKeys, planBatch, type Failure } from './plan-batch.ts';

// KEYS[1] the partition's lease, KEYS[2] its stream, KEYS[3…] checkpoints. ARGV[1] the lease owner,
// ARGV[2] the group to acknowledge in ('' for none), ARGV[3] the number of ids to acknowledge, the
// ids, then per checkpoint the expected value ('' for none) and the new one, then the writes
// (see CommitWrites). Flat arguments spare both sides a JSON round of the batch's documents.
// Returns 1 done, 0 a checkpoint moved, -1 lease lost.
const commitScript = new LuaScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local acks = tonumber(ARGV[3])
local checkpointsAt = 4 + acks
local i = checkpointsAt
for k = 3, #KEYS do
  if (redis.call('GET', KEYS[k]) or '') ~= ARGV[i] then return 0 end
  i = i + 2
end
local allowed = {${COMMIT_COMMANDS.map((c) => `${c} = true`).join(', ')}}
local n = #ARGV
while i <= n do
  local command, count = ARGV[i], tonumber(ARGV[i + 1])
  if not allowed[command] then return redis.error_reply('commit: unknown command ' .. tostring(command)) end
  redis.call(command, unpack(ARGV, i + 2, i + 1 + count))
  i = i + 2 + count
end
i = checkpointsAt
for k = 3, #KEYS do
  redis.call('SET', KEYS[k], ARGV[i + 1])
  i = i + 2
end
local from = 4
while from < checkpointsAt do
  local to = math.min(from + 999, checkpointsAt - 1)
  redis.call('XACK', KEYS[2], ARGV[2], unpack(ARGV, from, to))
  from = to + 1
end
return 1
`);

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
  /**
   * The checkpoint this process last committed, if it knows it: saves a read per
   * batch. A wrong guess only costs a retry, since the commit compares it anyway.
   */
  knownCheckpoint?: string;
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
  writes: string[];
  result: CommitResult;
}

/** One projection alone. */
export async function commitBatch(redis: RedisClient, request: CommitRequest): Promise<CommitResult> {
  const { projection, partition } = request;
  const expected = request.knownCheckpoint ?? (await redis.get(checkpointKey(projection.name, partition))) ?? '';
  const fresh = freshDeliveries(request.deliveries, expected);
  const documents = await readDocuments(redis, documentKeysOf(projection, fresh));
  const share = planShare(request, projection, expected, fresh, documents, request.attempt, request.deadLetter);
  if (share.result.outcome === 'failed' || share.last === expected) return share.result;
  await runCommit(redis, request, [share], null);
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
 * Every projection of a first attempt in one round: one MGET of their documents,
 * one script for all their writes and checkpoints and the acknowledgement.
 * Throws CheckpointMovedError when a checkpoint is not what `known` says (or
 * read): then nothing was written.
 */
export async function commitTogether(
  redis: RedisClient,
  batch: BatchToCommit,
  projections: readonly Projection[],
  known: ReadonlyMap<string, string>,
  /** True when a first attempt is also the last (a retry budget of one): failures go to dead letters at once. */
  deadLetter: boolean,
): Promise<TogetherResult> {
  const missing = projections.filter((p) => !known.has(p.name));
  const read = missing.length === 0 ? [] : await redis.mGet(missing.map((p) => checkpointKey(p.name, batch.partition)));
  const expected = new Map(known);
  missing.forEach((p, i) => expected.set(p.name, read[i] ?? ''));

  const fresh = projections.map((p) => freshDeliveries(batch.deliveries, expected.get(p.name)!));
  const keys = projections.map((p, i) => documentKeysOf(p, fresh[i]!));
  const wanted = new Map<string, string>();
  for (const redisKey of keys.flatMap((k) => [...k.values()])) wanted.set(redisKey, redisKey);
  const documents = await readDocuments(redis, wanted);

  const result: TogetherResult = { committed: new Map(), failed: [], acknowledged: false };
  const shares: Share[] = [];
  projections.forEach((projection, i) => {
    // Documents are found by the projection's own key; `documents` is by Redis key.
    const own = new Map<string, unknown>();
    for (const [key, redisKey] of keys[i]!) {
      if (documents.has(redisKey)) own.set(key, documents.get(redisKey));
    }
    const share = planShare(batch, projection, expected.get(projection.name)!, fresh[i]!, own, 1, deadLetter);
    if (share.result.outcome === 'failed') return result.failed.push({ projection, failures: share.result.failures });
    result.committed.set(projection.name, share.result);
    if (share.last !== share.expected) shares.push(share);
  });
  result.acknowledged = result.failed.length === 0;
  if (shares.length > 0 || result.acknowledged) {
    await runCommit(redis, batch, shares, result.acknowledged ? batch.deliveries.map((d) => d.streamId) : null);
  }
  return result;
}

/** The documents a projection needs for these deliveries: its key → Redis key (none for counters). */
function documentKeysOf(projection: Projection, fresh: readonly Delivery[]): Map<string, string> {
  return projection.kind === 'keyed' ? documentKeys(projection, fresh) : new Map();
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
    checkpoint, expected, last, writes: writes.flat(),
    result: { outcome: 'committed', applied: plan.applied, deadLettered: plan.failures.length, checkpoint: last },
  };
}

/** The script over the shares (and the acknowledgement of `ackIds`, when given). */
async function runCommit(redis: RedisClient, batch: BatchToCommit, shares: readonly Share[], ackIds: readonly string[] | null): Promise<void> {
  const { partition } = batch;
  const keys = [leaseKey(CONSUMER_GROUPS.live, partition), streamKey(partition), ...shares.map((s) => s.checkpoint)];
  const args = [batch.owner, ackIds ? CONSUMER_GROUPS.live : '', String(ackIds?.length ?? 0), ...(ackIds ?? [])];
  for (const share of shares) args.push(share.expected, share.last);
  for (const share of shares) for (const arg of share.writes) args.push(arg);
  const done = Number(await commitScript.run(redis, keys, args));
  const names = shares.map((s) => s.checkpoint).join(', ');
  if (done === -1) throw new LeaseLostError(`partition ${partition}: the lease is no longer ours (${names})`);
  if (done !== 1) throw new CheckpointMovedError(`partition ${partition}: a checkpoint moved while planning (${names})`);
}

async function readDocuments(redis: RedisClient, keys: ReadonlyMap<string, string>): Promise<Map<string, unknown>> {
  const documents = new Map<string, unknown>();
  if (keys.size === 0) return documents;
  const values = await redis.mGet([...keys.values()]);
  let i = 0;
  for (const key of keys.keys()) {
    const json = values[i++];
    if (json) documents.set(key, JSON.parse(json));
  }
  return documents;
}
