/**
 * Commits one projection's batch for one partition: its writes, its dead
 * letters and its checkpoint in one Lua call, only if the checkpoint is still
 * what the batch was planned against (compare-and-set). A redelivered entry at
 * or below the checkpoint is filtered out before planning, so it changes nothing;
 * a concurrent owner of the partition makes the CAS fail and the batch is re-planned.
 */
import type { RedisClient } from '../../platform/redis/client.ts';
import { LuaScript } from '../../platform/redis/lua-script.ts';
import { readModelKeys, VIEW_CHANGED_CHANNEL } from '../../shared/read-models.ts';
import { checkpointKey, compareStreamIds, CONSUMER_GROUPS, deadLetterKey, leaseKey } from '../../shared/streams.ts';
import type { Change, Projection } from '../projection.ts';
import type { Delivery } from './decode.ts';
import { CheckpointMovedError, LeaseLostError } from './errors.ts';
import { documentKeys, planBatch, type Failure } from './plan-batch.ts';

// KEYS[1] checkpoint, KEYS[2] the partition's lease. ARGV[1] expected checkpoint ('' for none),
// ARGV[2] new checkpoint, ARGV[3] the lease owner, then the operations laid flat: a name and its
// arguments (xadd: key, field count, fields), every one a string. Flat arguments spare both sides
// a JSON round of the batch's documents. Returns 1 done, 0 checkpoint moved, -1 lease lost.
const commitScript = new LuaScript(`
if redis.call('GET', KEYS[2]) ~= ARGV[3] then return -1 end
if (redis.call('GET', KEYS[1]) or '') ~= ARGV[1] then return 0 end
local i, n = 4, #ARGV
while i <= n do
  local name = ARGV[i]
  if name == 'set' then redis.call('SET', ARGV[i + 1], ARGV[i + 2]); i = i + 3
  elseif name == 'hincr' then redis.call('HINCRBY', ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]); i = i + 4
  elseif name == 'zadd' then redis.call('ZADD', ARGV[i + 1], ARGV[i + 3], ARGV[i + 2]); i = i + 4
  elseif name == 'zrem' then redis.call('ZREM', ARGV[i + 1], ARGV[i + 2]); i = i + 3
  elseif name == 'sadd' then redis.call('SADD', ARGV[i + 1], ARGV[i + 2]); i = i + 3
  elseif name == 'incr' then redis.call('INCR', ARGV[i + 1]); i = i + 2
  elseif name == 'publish' then redis.call('PUBLISH', ARGV[i + 1], ARGV[i + 2]); i = i + 3
  elseif name == 'xadd' then
    local count = tonumber(ARGV[i + 2])
    redis.call('XADD', ARGV[i + 1], '*', unpack(ARGV, i + 3, i + 2 + count)); i = i + 3 + count
  else return redis.error_reply('commit: unknown operation ' .. tostring(name)) end
end
redis.call('SET', KEYS[1], ARGV[2])
return 1
`);

export interface CommitRequest {
  projection: Projection;
  partition: number;
  /** The lease owner committing: a commit by a process that lost the lease is refused (fencing). */
  owner: string;
  deliveries: readonly Delivery[];
  /** How many times this batch has been tried, this one included. */
  attempt: number;
  /** On the last attempt failures go to the dead-letter stream instead of failing the batch. */
  deadLetter: boolean;
  now: () => number;
  /**
   * The checkpoint this process last committed, if it knows it: saves a read per
   * batch. A wrong guess only costs a retry, since the commit compares it anyway.
   */
  knownCheckpoint?: string;
}

export type CommitResult =
  | { outcome: 'committed'; applied: number; deadLettered: number; checkpoint: string }
  | { outcome: 'failed'; failures: Failure[] };

export async function commitBatch(redis: RedisClient, request: CommitRequest): Promise<CommitResult> {
  const { projection, partition } = request;
  const checkpoint = checkpointKey(projection.name, partition);
  const expected = request.knownCheckpoint ?? (await redis.get(checkpoint)) ?? '';
  const fresh = request.deliveries.filter((d) => expected === '' || compareStreamIds(d.streamId, expected) > 0);
  if (fresh.length === 0) return { outcome: 'committed', applied: 0, deadLettered: 0, checkpoint: expected };

  const documents = projection.kind === 'keyed' ? await readDocuments(redis, documentKeys(projection, fresh)) : undefined;
  const plan = planBatch(projection, fresh, documents);
  if (plan.failures.length > 0 && !request.deadLetter) return { outcome: 'failed', failures: plan.failures };

  const last = fresh[fresh.length - 1]!.streamId;
  const args = [expected, last, request.owner];
  for (const d of plan.documents) args.push('set', d.key, d.json);
  for (const change of plan.changes) args.push(...toOperation(change));
  for (const failure of plan.failures) {
    const fields = ['event', failure.delivery.raw, 'error', failure.error, 'attempts', String(request.attempt),
      'streamId', failure.delivery.streamId, 'partition', String(partition), 'failedAt', String(request.now())];
    args.push('xadd', deadLetterKey(projection.name), String(fields.length), ...fields);
  }
  if (plan.documents.length > 0 || plan.changes.length > 0) {
    for (const view of projection.views) args.push('incr', readModelKeys.viewVersion(view), 'publish', VIEW_CHANGED_CHANNEL, view);
  }
  const lease = leaseKey(CONSUMER_GROUPS.live, partition);
  const done = Number(await commitScript.run(redis, [checkpoint, lease], args));
  if (done === -1) throw new LeaseLostError(`${projection.name} partition ${partition}: the lease is no longer ours`);
  if (done !== 1) throw new CheckpointMovedError(`${projection.name} partition ${partition}: checkpoint moved while planning`);
  return { outcome: 'committed', applied: plan.applied, deadLettered: plan.failures.length, checkpoint: last };
}

async function readDocuments(redis: RedisClient, keys: Map<string, string>): Promise<Map<string, unknown>> {
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

function toOperation(change: Change): string[] {
  switch (change.op) {
    case 'hincr':
      return ['hincr', change.key, change.field, String(change.by)];
    case 'zadd':
      return ['zadd', change.key, change.member, String(change.score)];
    case 'zrem':
    case 'sadd':
      return [change.op, change.key, change.member];
  }
}
