/**
 * Reads batches of one partition for its owner: first the entries a previous
 * owner left pending (claimed whatever their age), then new entries; every so
 * often, entries pending longer than the idle limit are claimed again.
 *
 * Reads are fenced by the lease: a Lua script takes entries only while the
 * lease names this consumer. A process that stalled past its lease (a zombie)
 * can therefore never take entries the new owner would not see: everything
 * it took, it took before the new owner claimed the pending list.
 */
import type { RedisClient } from '../../platform/redis/client.ts';
import { LuaScript } from '../../platform/redis/lua-script.ts';
import { leaseKey, streamKey, type ConsumerGroup } from '../../shared/streams.ts';
import type { StreamEntry } from './decode.ts';
import { LeaseLostError } from './errors.ts';

// KEYS[1] lease, KEYS[2] stream. ARGV: owner, group, count, claim min-idle ('' = read new), claim cursor.
// Returns {'lost'} | {'new', lastId, entries} | {'claimed', nextCursor, entries}.
const fencedRead = new LuaScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {'lost'} end
if ARGV[4] ~= '' then
  local claimed = redis.call('XAUTOCLAIM', KEYS[2], ARGV[2], ARGV[1], ARGV[4], ARGV[5], 'COUNT', ARGV[3])
  return {'claimed', claimed[1], claimed[2]}
end
local reply = redis.call('XREADGROUP', 'GROUP', ARGV[2], ARGV[1], 'COUNT', ARGV[3], 'STREAMS', KEYS[2], '>')
if reply then return {'new', '', reply[1][2]} end
local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
return {'new', last[1] and last[1][1] or '0-0', {}}
`);

export interface ReaderOptions {
  group: ConsumerGroup;
  /** The consumer name, which is also the lease owner id. */
  owner: string;
  batchSize: number;
  blockMs: number;
  pendingIdleMs: number;
  now: () => number;
}

type RawEntry = [id: string, fields: string[] | null];

export class PartitionReader {
  readonly #stream: string;
  readonly #lease: string;
  /** Cursor of the pending-entries scan; '0-0' starts a new scan. */
  #claimCursor = '0-0';
  #claimMinIdle = 0;
  #nextClaimAt = 0;

  constructor(private readonly connection: RedisClient, partition: number, private readonly options: ReaderOptions) {
    this.#stream = streamKey(partition);
    this.#lease = leaseKey(options.group, partition);
  }

  /** The next batch, or [] after waiting up to blockMs for one. Throws LeaseLostError once the lease is gone. */
  async next(): Promise<StreamEntry[]> {
    const { pendingIdleMs, now } = this.options;
    if (now() >= this.#nextClaimAt) {
      const [, cursor, entries] = await this.#read(String(this.#claimMinIdle), this.#claimCursor);
      this.#claimCursor = cursor;
      if (cursor === '0-0') {
        // Scan done: from now on only entries idle past the limit count as stuck.
        this.#claimMinIdle = pendingIdleMs;
        this.#nextClaimAt = now() + pendingIdleMs;
      }
      if (entries.length > 0) return entries;
    }
    const [, lastId, entries] = await this.#read('', '');
    if (entries.length > 0) return entries;
    // Nothing new: wait until the stream grows past what it held (a plain XREAD takes nothing).
    await this.connection.xRead({ key: this.#stream, id: lastId }, { BLOCK: this.options.blockMs, COUNT: 1 });
    return [];
  }

  async #read(claimMinIdle: string, cursor: string): Promise<[string, string, StreamEntry[]]> {
    const { owner, group, batchSize } = this.options;
    const reply = (await fencedRead.run(this.connection, [this.#lease, this.#stream], [
      owner, group, String(batchSize), claimMinIdle, cursor,
    ])) as [string, string?, RawEntry[]?];
    if (reply[0] === 'lost') throw new LeaseLostError(`lease on ${this.#stream} is no longer ours`);
    return [reply[0], reply[1] ?? '0-0', (reply[2] ?? []).flatMap(toEntry)];
  }
}

/** [id, [field, value, …]] to an entry; a claimed entry deleted meanwhile comes as [id, nil] and is skipped. */
function toEntry([id, fields]: RawEntry): StreamEntry[] {
  if (!fields) return [];
  const message: Record<string, string> = {};
  for (let i = 0; i < fields.length; i += 2) message[fields[i]!] = fields[i + 1]!;
  return [{ id, message }];
}
