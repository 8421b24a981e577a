/**
 * The new read model is written beside the live one first, under a staging
 * prefix (`<stagePrefix><live key>`), a set of its staged keys kept as it is
 * written; the live keys the switch will remove are gathered in another set.
 * None of it is atomic or visible to readers: only the switch (switch-script.ts)
 * makes it live, in one step. Nothing here blocks Redis for long: SCAN, and
 * pipelined commands of a bounded size.
 */
import type { RedisClient } from '../../platform/redis/client.ts';
import { rebuildKeys } from '../../shared/read-models.ts';
import type { KeyPatterns, RedisType } from './key-patterns.ts';
import type { IndexModel, ModelFold, Write } from './model-fold.ts';

/** Items (fields, members, key-value pairs) per command, and commands in flight at once. */
const PER_COMMAND = 1_000;
const IN_FLIGHT = 64;
/** Keys a SCAN call looks at: each is short work for Redis, and few round trips for us. */
const SCAN_COUNT = 5_000;

/** Sends commands pipelined, a bounded number in flight. */
class Pipeline {
  #pending: Array<Promise<unknown>> = [];
  constructor(private readonly redis: RedisClient) {}

  async send(args: string[]): Promise<void> {
    this.#pending.push(this.redis.sendCommand(args));
    if (this.#pending.length >= IN_FLIGHT) await this.flush();
  }

  async flush(): Promise<void> {
    const pending = this.#pending;
    this.#pending = [];
    await Promise.all(pending);
  }
}

/** Removes what a rebuild of this projection left staged (a failed or interrupted one). */
export async function clearStaging(redis: RedisClient, projection: string): Promise<void> {
  const staged = rebuildKeys.staged(projection);
  const pipeline = new Pipeline(redis);
  for await (const keys of redis.sScanIterator(staged, { COUNT: PER_COMMAND })) {
    if (keys.length > 0) await pipeline.send(['UNLINK', ...keys]);
  }
  await pipeline.flush();
  await redis.del([staged, rebuildKeys.replaced(projection)]);
}

/** Gathers the projection's live keys (by its key patterns) into the set the switch removes; returns how many. */
export async function gatherReplaced(redis: RedisClient, projection: string, patterns: KeyPatterns): Promise<number> {
  const replaced = rebuildKeys.replaced(projection);
  await redis.del(replaced);
  const pipeline = new Pipeline(redis);
  let count = 0;
  for (const { match, types } of patterns.patterns) {
    // One type: SCAN filters by it; several: each key's TYPE is asked.
    const options = { MATCH: match, COUNT: SCAN_COUNT, ...(types.length === 1 ? { TYPE: types[0]! } : {}) };
    for await (const keys of redis.scanIterator(options)) {
      if (keys.length === 0) continue;
      const ours = types.length === 1
        ? keys.filter((key) => patterns.covers(key, types[0]!))
        : await Promise.all(keys.map((key) => redis.type(key))).then((found) => keys.filter((key, i) => patterns.covers(key, String(found[i]))));
      if (ours.length === 0) continue;
      count += ours.length;
      await pipeline.send(['SADD', replaced, ...ours]);
    }
  }
  await pipeline.flush();
  return count;
}

/** Writes the whole folded model under the staging prefix; returns the number of keys. */
export async function writeStaging(redis: RedisClient, fold: ModelFold, patterns: KeyPatterns): Promise<number> {
  const projection = fold.projection.name;
  const prefix = rebuildKeys.stagePrefix(projection);
  const staged = rebuildKeys.staged(projection);
  const pipeline = new Pipeline(redis);
  let keys = 0;
  // The staged set first: a write cut short leaves no staged key that a later clearStaging would not find.
  const stage = async (names: string[]) => {
    keys += names.length;
    await pipeline.send(['SADD', staged, ...names.map((n) => prefix + n)]);
  };

  let documents: string[] = [];
  const flushDocuments = async () => {
    if (documents.length === 0) return;
    await stage(documents.filter((_, i) => i % 2 === 0));
    await pipeline.send(['MSET', ...documents.map((v, i) => (i % 2 === 0 ? prefix + v : v))]);
    documents = [];
  };
  for (const [key, json] of fold.documents()) {
    patterns.check(key, 'string');
    documents.push(key, json);
    if (documents.length >= 2 * PER_COMMAND) await flushDocuments();
  }
  await flushDocuments();

  // Index keys a chunk at a time: their names into the staged set (one SADD per chunk, not per key), then their writes.
  const writeKeys = async <V>(entries: Iterable<[string, V]>, type: RedisType, commands: (key: string, value: V) => string[][]) => {
    for (const part of chunks([...entries], PER_COMMAND)) {
      for (const [key] of part) patterns.check(key, type);
      await stage(part.map(([key]) => key));
      for (const [key, value] of part) for (const command of commands(prefix + key, value)) await pipeline.send(command);
    }
  };
  const model: IndexModel = fold.indexModel();
  await writeKeys(model.hashes, 'hash', (key, hash) =>
    [...chunks([...hash], PER_COMMAND)].map((part) => ['HSET', key, ...part.flatMap(([field, value]) => [field, String(value)])]));
  await writeKeys(model.zsets, 'zset', (key, zset) =>
    [...chunks([...zset], PER_COMMAND)].map((part) => ['ZADD', key, ...part.flatMap(([member, score]) => [String(score), member])]));
  await writeKeys(model.sets, 'set', (key, set) => [...chunks([...set], PER_COMMAND)].map((part) => ['SADD', key, ...part]));
  await pipeline.flush();
  return keys;
}

/** Applies writes (of events folded after the model was staged) to the staged keys. */
export async function writeStagedChanges(redis: RedisClient, projection: string, writes: readonly Write[], patterns: KeyPatterns): Promise<void> {
  if (writes.length === 0) return;
  const prefix = rebuildKeys.stagePrefix(projection);
  const commands: string[][] = [];
  for (const write of writes) {
    const key = prefix + write.key;
    switch (write.op) {
      case 'set':
        patterns.check(write.key, 'string');
        commands.push(['SET', key, write.value]);
        break;
      case 'hincr':
        patterns.check(write.key, 'hash');
        commands.push(['HINCRBY', key, write.field, String(write.by)]);
        break;
      case 'zadd':
        patterns.check(write.key, 'zset');
        commands.push(['ZADD', key, String(write.score), write.member]);
        break;
      case 'zrem':
        commands.push(['ZREM', key, write.member]);
        break;
      case 'sadd':
        patterns.check(write.key, 'set');
        commands.push(['SADD', key, write.member]);
        break;
    }
  }
  const pipeline = new Pipeline(redis);
  // The staged set first, as in writeStaging.
  const touched = [...new Set(commands.map((c) => c[1]!))];
  for (const part of chunks(touched, PER_COMMAND)) await pipeline.send(['SADD', rebuildKeys.staged(projection), ...part]);
  for (const command of commands) await pipeline.send(command);
  await pipeline.flush();
}

function* chunks<T>(items: readonly T[], size: number): Generator<T[]> {
  for (let at = 0; at < items.length; at += size) yield items.slice(at, at + size);
}
