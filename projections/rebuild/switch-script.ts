/**
 * The switch: the staged read model becomes the live one in one Lua call, only
 * if it holds exactly what the live one holds by then, per partition.
 *
 * The rebuild has folded each partition up to a checkpoint it read. The live
 * projector (in any process) may have committed more since. The script is
 * given, per partition, the checkpoint folded up to and the writes of each
 * stream entry after it (up to a bound), computed on top of the new model. If
 * a live checkpoint is the one folded up to, or one of those entries, the new
 * model plus the writes of the entries up to it is exactly the live state's
 * events, and the script switches: it removes the live keys (those gathered,
 * and any other the entries write that the new model lacks), renames the staged
 * ones into their place, applies those writes, bumps the view versions and
 * publishes the views as changed, as commits do. Otherwise it changes nothing
 * and answers the live checkpoints, so the rebuild folds up to them and tries again.
 *
 * It leaves each checkpoint at the same position, spelled differently (a
 * leading zero: "0" + "1700000000000-5", which compares equal as a stream id).
 * A commit the live projector planned against the old read model (documents
 * read before the switch) then fails its compare-and-set, and is planned again
 * against the new one, instead of writing a document derived from an old one.
 */
import type { RedisClient } from '../../platform/redis/client.ts';
import { LuaScript } from '../../platform/redis/lua-script.ts';
import { rebuildKeys, readModelKeys, VIEW_CHANGED_CHANNEL } from '../../shared/read-models.ts';
import { checkpointKey } from '../../shared/streams.ts';
import type { Write } from './model-fold.ts';

/** The commands an entry's writes use (the script refuses others before it writes anything). */
const TAIL_COMMANDS = ['SET', 'HINCRBY', 'ZADD', 'ZREM', 'SADD'] as const;

// KEYS[1] the rebuild's lock, KEYS[2] the set of live keys to remove, KEYS[3] the set of staged keys,
// KEYS[4…] the checkpoints of partitions 0…P-1. ARGV[1] the lock owner, ARGV[2] the staging prefix,
// ARGV[3] the view-changed channel, ARGV[4] the number of views V, then V × (version key, view name),
// then per partition: the checkpoint folded up to, the number of entries after it, and per entry its
// id, its argument count and its writes (command, argument count, arguments).
// Returns {1} switched, {0, checkpoint…} a checkpoint is elsewhere, {-1} the lock is not ours.
const switchScript = new LuaScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {-1} end
local prefix, channel, views = ARGV[2], ARGV[3], tonumber(ARGV[4])
local allowed = {${TAIL_COMMANDS.map((c) => `${c} = true`).join(', ')}}
local partitions = #KEYS - 3
local i = 5 + 2 * views
local current, from, to, touched = {}, {}, {}, {}
local moved = false
for p = 1, partitions do
  local checkpoint = redis.call('GET', KEYS[3 + p]) or ''
  current[p] = checkpoint
  local expected, entries = ARGV[i], tonumber(ARGV[i + 1])
  i = i + 2
  from[p] = i
  if checkpoint == expected then to[p] = i end
  for e = 1, entries do
    local id, count = ARGV[i], tonumber(ARGV[i + 1])
    local k, stop = i + 2, i + 2 + count
    while k < stop do
      if not allowed[ARGV[k]] then return redis.error_reply('rebuild switch: unknown command ' .. tostring(ARGV[k])) end
      touched[ARGV[k + 2]] = true
      k = k + 2 + tonumber(ARGV[k + 1])
    end
    i = stop
    if not to[p] and id == checkpoint then to[p] = i end
  end
  if not to[p] then moved = true end
end
if moved then
  local reply = {0}
  for p = 1, partitions do reply[p + 1] = current[p] end
  return reply
end
local function each(set, action)
  local cursor = '0'
  repeat
    local page = redis.call('SSCAN', set, cursor, 'COUNT', 1000)
    cursor = page[1]
    for _, key in ipairs(page[2]) do action(key) end
  until cursor == '0'
end
each(KEYS[2], function(key) redis.call('UNLINK', key) end)
-- A key the entries write that the new model lacks may have been created live after the keys to
-- replace were gathered (by the commit of one of these very entries): it starts from nothing.
for key in pairs(touched) do
  if redis.call('SISMEMBER', KEYS[3], prefix .. key) == 0 then redis.call('UNLINK', key) end
end
each(KEYS[3], function(key)
  if redis.call('EXISTS', key) == 1 then redis.call('RENAME', key, string.sub(key, #prefix + 1)) end
end)
for p = 1, partitions do
  local k = from[p]
  while k < to[p] do
    local stop = k + 2 + tonumber(ARGV[k + 1])
    k = k + 2
    while k < stop do
      local n = tonumber(ARGV[k + 1])
      redis.call(ARGV[k], unpack(ARGV, k + 2, k + 1 + n))
      k = k + 2 + n
    end
  end
  redis.call('SET', KEYS[3 + p], '0' .. (current[p] == '' and '0-0' or current[p]))
end
redis.call('DEL', KEYS[2], KEYS[3])
for v = 0, views - 1 do
  redis.call('INCR', ARGV[5 + 2 * v])
  redis.call('PUBLISH', channel, ARGV[6 + 2 * v])
end
return {1}
`);

/** One stream entry after the checkpoint folded up to, and its writes on top of the new model. */
export interface TailEntry {
  id: string;
  writes: readonly Write[];
}

export interface SwitchRequest {
  projection: string;
  views: readonly string[];
  owner: string;
  /** Per partition: the checkpoint folded up to, and the entries after it. */
  partitions: ReadonlyArray<{ foldedUpTo: string; tail: readonly TailEntry[] }>;
}

export type SwitchResult =
  | { outcome: 'switched' }
  | { outcome: 'moved'; checkpoints: string[] }
  | { outcome: 'lock-lost' };

export async function trySwitch(redis: RedisClient, request: SwitchRequest): Promise<SwitchResult> {
  const { projection } = request;
  const keys = [
    rebuildKeys.lock(projection), rebuildKeys.replaced(projection), rebuildKeys.staged(projection),
    ...request.partitions.map((_, p) => checkpointKey(projection, p)),
  ];
  const args = [request.owner, rebuildKeys.stagePrefix(projection), VIEW_CHANGED_CHANNEL, String(request.views.length)];
  for (const view of request.views) args.push(readModelKeys.viewVersion(view), view);
  for (const { foldedUpTo, tail } of request.partitions) {
    args.push(foldedUpTo, String(tail.length));
    for (const entry of tail) {
      const flat = entry.writes.flatMap(commandOf);
      args.push(entry.id, String(flat.length), ...flat);
    }
  }
  const reply = (await switchScript.run(redis, keys, args)) as Array<number | string>;
  if (Number(reply[0]) === 1) return { outcome: 'switched' };
  if (Number(reply[0]) === -1) return { outcome: 'lock-lost' };
  return { outcome: 'moved', checkpoints: reply.slice(1).map(String) };
}

/** A write as command, argument count, arguments. */
function commandOf(write: Write): string[] {
  switch (write.op) {
    case 'set':
      return ['SET', '2', write.key, write.value];
    case 'hincr':
      return ['HINCRBY', '3', write.key, write.field, String(write.by)];
    case 'zadd':
      return ['ZADD', '3', write.key, String(write.score), write.member];
    case 'zrem':
      return ['ZREM', '2', write.key, write.member];
    case 'sadd':
      return ['SADD', '2', write.key, write.member];
  }
}
