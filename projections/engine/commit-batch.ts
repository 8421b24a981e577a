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
// ARGV[2] new checkpoint, ARGV[3] the lease owner, then the writes laid flat: a command, its
// argument count, its arguments. Flat arguments spare both sides a JSON round of the batch's
// documents, and grouped commands (one MSET, one ZADD per key) spare Redis a call per change.
// Returns 1 done, 0 checkpoint moved, -1 lease lost.
const commitScript = new LuaScript(`
if redis.call('GET', KEYS[2]) ~= ARGV[3] then return -1 end
if (redis.call('GET', KEYS[1]) or '') ~= ARGV[1] then return 0 end
local allowed = {MSET = true, HINCRBY = true, ZADD = true, ZREM = true, SADD = true, INCR = true, PUBLISH = true, XADD = true}
local i, n = 4, #ARGV
while i <= n do
  local command, count = ARGV[i], tonumber(ARGV[i + 1])
  if not allowed[command] then return redis.error_reply('commit: unknown command ' .. tostring(command)) end
  redis.call(command, unpack(ARGV, i + 2, i + 1 + count))
  i = i + 2 + count
end
redis.call('SET', KEYS[1], ARGV[2])
return 1
`);

/** Arguments per command at most: Lua's unpack works on the C stack, which holds about 8,000. */
const MAX_COMMAND_ARGS = 4_000;

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
  // A batch is in stream order, so what is fresh is a suffix: usually all of it, after one comparison.
  const firstFresh = expected === '' ? 0 : request.deliveries.findIndex((d) => compareStreamIds(d.streamId, expected) > 0);
  const fresh = firstFresh < 0 ? [] : request.deliveries.slice(firstFresh);
  if (fresh.length === 0) return { outcome: 'committed', applied: 0, deadLettered: 0, checkpoint: expected };

  const documents = projection.kind === 'keyed' ? await readDocuments(redis, documentKeys(projection, fresh)) : undefined;
  const plan = planBatch(projection, fresh, documents);
  if (plan.failures.length > 0 && !request.deadLetter) return { outcome: 'failed', failures: plan.failures };

  const last = fresh[fresh.length - 1]!.streamId;
  const writes = new CommitWrites();
  writes.group('MSET', [], plan.documents.flatMap((d) => [d.key, d.json]), 2);
  for (const change of plan.changes) writes.add(change);
  for (const failure of plan.failures) {
    writes.command('XADD', [deadLetterKey(projection.name), '*',
      'event', failure.delivery.raw, 'error', failure.error, 'attempts', String(request.attempt),
      'streamId', failure.delivery.streamId, 'partition', String(partition), 'failedAt', String(request.now())]);
  }
  if (plan.documents.length > 0 || plan.changes.length > 0) {
    for (const view of projection.views) {
      writes.command('INCR', [readModelKeys.viewVersion(view)]);
      writes.command('PUBLISH', [VIEW_CHANGED_CHANNEL, view]);
    }
  }
  const lease = leaseKey(CONSUMER_GROUPS.live, partition);
  const done = Number(await commitScript.run(redis, [checkpoint, lease], [expected, last, request.owner, ...writes.flat()]));
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

/**
 * The writes of a commit as script arguments. Changes arrive compacted (each
 * (key, member) once, see compactChanges), so set operations on one key can be
 * sent as one command whatever their order.
 */
class CommitWrites {
  readonly #commands: string[][] = [];
  /** Commands that take many arguments, by name and key; `step` arguments make one item (ZADD: score, member). */
  readonly #groups = new Map<string, { name: string; head: string[]; step: number; items: string[] }>();

  command(name: string, args: string[]): void {
    this.#commands.push([name, ...args]);
  }

  /** Items for a command that takes many: MSET (key, value), or ZADD/ZREM/SADD of one key. */
  group(name: string, head: string[], items: string[], step = 1): void {
    if (items.length === 0) return;
    const id = `${name} ${head.join(' ')}`;
    let group = this.#groups.get(id);
    if (!group) this.#groups.set(id, (group = { name, head, step, items: [] }));
    for (const item of items) group.items.push(item);
  }

  add(change: Change): void {
    switch (change.op) {
      case 'hincr':
        return this.command('HINCRBY', [change.key, change.field, String(change.by)]);
      case 'zadd':
        return this.group('ZADD', [change.key], [String(change.score), change.member], 2);
      case 'zrem':
        return this.group('ZREM', [change.key], [change.member]);
      case 'sadd':
        return this.group('SADD', [change.key], [change.member]);
    }
  }

  /** Each command as name, argument count, arguments; long groups in parts Lua can unpack. */
  flat(): string[] {
    const out: string[] = [];
    const push = (name: string, args: readonly string[]) => {
      out.push(name, String(args.length));
      for (const arg of args) out.push(arg);
    };
    for (const { name, head, step, items } of this.#groups.values()) {
      const perPart = Math.floor((MAX_COMMAND_ARGS - head.length) / step) * step;
      for (let at = 0; at < items.length; at += perPart) push(name, [...head, ...items.slice(at, at + perPart)]);
    }
    for (const [name, ...args] of this.#commands) push(name!, args);
    return out;
  }
}
