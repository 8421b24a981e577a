/**
 * What one evaluation of the alert rules reads, in one go: stock rows, the KPI
 * minutes of the widest rate window, the orders waiting past the smallest
 * stage limit, dead-letter counts and consumer lag.
 */
import type { RedisClient } from '../../platform/redis/client.ts';
import { emptyKpiMinute, IN_FLIGHT_STAGES, parseKpiHash, readModelKeys, type InFlightStage } from '../../shared/read-models.ts';
import { CONSUMER_GROUPS, KEY_PREFIX } from '../../shared/streams.ts';
import { readLag } from '../pipeline/lag-reader.ts';
import { readInventory, type ReorderLevels } from '../views/inventory-view.ts';
import type { AlertRule, Readings } from './rules.ts';

/** Waiting orders read per stage at most; past it an absence rule leaves unread orders' alerts as they are. */
const MAX_WAITING_PER_STAGE = 1_000;

export interface ReadingContext {
  rules: readonly AlertRule[];
  levels: ReorderLevels;
  stageLimitsMs: Readonly<Record<InFlightStage, number>>;
  partitions: number;
}

export async function readReadings(redis: RedisClient, context: ReadingContext, now: number): Promise<Readings> {
  const [inventory, kpiMinutes, waiting, deadLetters, lagSeconds] = await Promise.all([
    readInventory(redis, {}, context.levels).then((s) => s.rows),
    readKpiMinutes(redis, context.rules, now),
    readWaiting(redis, context, now),
    readDeadLetters(redis),
    readGroupLag(redis, context.partitions, now),
  ]);
  return { now, inventory, kpiMinutes, waiting: waiting.orders, waitingComplete: waiting.complete, deadLetters, lagSeconds };
}

async function readKpiMinutes(redis: RedisClient, rules: readonly AlertRule[], now: number) {
  const widest = Math.max(0, ...rules.map((r) => (r.kind === 'rate' ? r.windowMinutes : 0)));
  const current = now - (now % 60_000);
  const minutes = Array.from({ length: widest }, (_, i) => new Date(current - (widest - 1 - i) * 60_000).toISOString());
  const hashes = await Promise.all(minutes.map((m) => redis.hGetAll(readModelKeys.kpiMinute(m))));
  return minutes.map((m, i) => (Object.keys(hashes[i]!).length > 0 ? parseKpiHash(m, hashes[i]!) : emptyKpiMinute(m)));
}

async function readWaiting(redis: RedisClient, { rules, stageLimitsMs }: ReadingContext, now: number) {
  const absence = rules.filter((r) => r.kind === 'absence');
  if (absence.length === 0) return { orders: [], complete: true };
  let complete = true;
  const perStage = await Promise.all(IN_FLIGHT_STAGES.map(async (stage) => {
    const limit = Math.min(...absence.map((r) => r.limitsMs[stage] ?? stageLimitsMs[stage]));
    const members = await redis.zRangeByScoreWithScores(readModelKeys.fulfilmentStage(stage), '-inf', `(${now - limit}`, {
      LIMIT: { offset: 0, count: MAX_WAITING_PER_STAGE },
    });
    if (members.length === MAX_WAITING_PER_STAGE) complete = false;
    return members.map((m) => ({ orderId: m.value, stage, lastEventMs: m.score }));
  }));
  return { orders: perStage.flat(), complete };
}

async function readDeadLetters(redis: RedisClient): Promise<Record<string, number>> {
  const prefix = `${KEY_PREFIX}:dlq:`;
  const keys: string[] = [];
  for await (const batch of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 100 })) keys.push(...batch);
  const lengths = await Promise.all(keys.map((k) => redis.xLen(k)));
  return Object.fromEntries(keys.map((k, i) => [k.slice(prefix.length), lengths[i]!]));
}

/** The age of each group's oldest unacknowledged entry (0 for a group that never ran). */
async function readGroupLag(redis: RedisClient, partitions: number, now: number): Promise<Record<string, number>> {
  const reading = await readLag(redis, { partitions, groups: Object.values(CONSUMER_GROUPS), projections: [], deadLetters: [], now });
  return Object.fromEntries([...reading.groups].map(([group, lag]) => [group, Math.round(lag.seconds * 10) / 10]));
}
