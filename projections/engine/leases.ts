/**
 * Partition ownership for one consumer group. Members heartbeat into a ZSET;
 * each holds renewable leases (SET NX PX) on about P / members partitions.
 * When a member stops renewing, its leases expire and the others take its
 * partitions; when a member joins, the others give up their surplus.
 */
import { BehaviorSubject, type Observable } from 'rxjs';
import type { RedisClient } from '../../platform/redis/client.ts';
import { LuaScript } from '../../platform/redis/lua-script.ts';
import { leaseKey, membersKey, partitionOf, type ConsumerGroup } from '../../shared/streams.ts';

/**
 * Every lease held, renewed in one step. A renewal touches the lease, which
 * aborts the transactions that WATCH it (reads and commits, which then look
 * again); renewed one by one, a lane's commit watching four leases could be
 * aborted four times in a row by one round of renewals.
 */
const renewIfOwner = new LuaScript(`
local renewed = {}
for i, key in ipairs(KEYS) do
  renewed[i] = 0
  if redis.call('GET', key) == ARGV[1] then renewed[i] = redis.call('PEXPIRE', key, ARGV[2]) end
end
return renewed
`);
const releaseIfOwner = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);

export interface LeaseOptions {
  group: ConsumerGroup;
  partitions: number;
  ownerId: string;
  ttlMs: number;
  now: () => number;
}

export class PartitionLeases {
  readonly #owned = new BehaviorSubject<ReadonlySet<number>>(new Set());
  readonly owned$: Observable<ReadonlySet<number>> = this.#owned.asObservable();

  constructor(private readonly redis: RedisClient, private readonly options: LeaseOptions) {}

  get owned(): ReadonlySet<number> {
    return this.#owned.value;
  }

  /** One round: heartbeat, renew what we hold, then take or give up partitions towards a fair share. */
  async tick(): Promise<void> {
    const { group, partitions, ownerId, ttlMs, now } = this.options;
    const members = membersKey(group);
    const t = now();
    await this.redis.zAdd(members, { score: t + ttlMs, value: ownerId });
    await this.redis.zRemRangeByScore(members, '-inf', t);
    const live = Math.max(1, await this.redis.zCard(members));
    const fairShare = Math.ceil(partitions / live);

    const held = [...this.owned];
    const renewed = held.length > 0 ? (await renewIfOwner.run(this.redis, held.map((p) => leaseKey(group, p)), [ownerId, String(ttlMs)])) as number[] : [];
    const owned = new Set(held.filter((_, i) => Number(renewed[i]) === 1));
    // Give up the surplus, highest partitions first, so members converge on a stable split.
    for (const p of [...owned].sort((a, b) => b - a)) {
      if (owned.size <= fairShare) break;
      owned.delete(p);
      await releaseIfOwner.run(this.redis, [leaseKey(group, p)], [ownerId]);
    }
    // Take free partitions, starting from a point of our own so members do not all race for partition 0.
    const start = partitionOf(ownerId, partitions);
    for (let i = 0; i < partitions && owned.size < fairShare; i++) {
      const p = (start + i) % partitions;
      if (owned.has(p)) continue;
      const taken = await this.redis.set(leaseKey(group, p), ownerId, { NX: true, PX: ttlMs });
      if (taken === 'OK') owned.add(p);
    }
    if (!sameSet(owned, this.owned)) this.#owned.next(owned);
  }

  /** Leaves the group: releases every lease at once so others need not wait for the TTL. */
  async release(): Promise<void> {
    const { group, ownerId } = this.options;
    for (const p of this.owned) await releaseIfOwner.run(this.redis, [leaseKey(group, p)], [ownerId]);
    await this.redis.zRem(membersKey(group), ownerId);
    this.#owned.next(new Set());
    this.#owned.complete();
  }
}

function sameSet(a: ReadonlySet<number>, b: ReadonlySet<number>): boolean {
  return a.size === b.size && [...a].every((x) => b.has(x));
}
