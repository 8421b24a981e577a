/**
 * The pipeline view: the activity of the last two minutes (activity.ts), the
 * consumer groups' lag per partition (lag-reader.ts), who holds each
 * partition's lease, and the dead-letter streams. Live only: none of it is in
 * the event store, so it has no past states.
 */
import { z } from 'zod';
import type { RedisClient } from '../../platform/redis/client.ts';
import type { GroupHealth, PipelineSecond, PipelineState, TypeThroughput } from '../../shared/pipeline.ts';
import { CONSUMER_GROUPS, leaseKey, membersKey, type ConsumerGroup } from '../../shared/streams.ts';
import { activityFields, activityKey, LATENCY_BOUNDS_MS } from './activity.ts';
import { readLag } from './lag-reader.ts';

export const pipelineFilter = z.strictObject({});

/** Seconds of activity the view shows; the throughput and latency figures cover the last 60 of them. */
const SHOWN_SECONDS = 120;
const RATE_SECONDS = 60;

export interface PipelineQuery {
  partitions: number;
  /** The live projections (each has a checkpoint per partition and a dead-letter stream). */
  projections: readonly string[];
  now: number;
}

const GROUPS: ConsumerGroup[] = [CONSUMER_GROUPS.live, CONSUMER_GROUPS.history];

export async function readPipeline(redis: RedisClient, query: PipelineQuery): Promise<PipelineState> {
  // The current second is still being counted: the view ends with the last complete one.
  const last = Math.floor(query.now / 1000) - 1;
  const seconds = Array.from({ length: SHOWN_SECONDS }, (_, i) => last - SHOWN_SECONDS + 1 + i);
  const deadLetterStreams = [...query.projections, CONSUMER_GROUPS.history];
  const [activity, lag, leases, members] = await Promise.all([
    Promise.all(seconds.map((s) => redis.hGetAll(activityKey(s)))),
    readLag(redis, { partitions: query.partitions, groups: GROUPS, projections: query.projections, deadLetters: deadLetterStreams, now: query.now }),
    Promise.all(GROUPS.map((group) => Promise.all(Array.from({ length: query.partitions }, (_, p) => redis.get(leaseKey(group, p)))))),
    Promise.all(GROUPS.map((group) => redis.zRangeByScore(membersKey(group), query.now, '+inf'))),
  ]);

  const recent = activity.slice(-RATE_SECONDS);
  const recentLatency = latencyCounts(recent);
  const owners = new Map(GROUPS.map((group, g) => [group, leases[g]!]));
  const groups: GroupHealth[] = GROUPS.map((group, g) => {
    const total = lag.groups.get(group) ?? { entries: 0, pending: 0, seconds: 0 };
    const held = new Map<string, number[]>(members[g]!.map((member) => [member, []]));
    owners.get(group)!.forEach((owner, p) => owner && (held.get(owner) ?? held.set(owner, []).get(owner)!).push(p));
    return {
      group, lagEntries: total.entries, pendingEntries: total.pending, lagSeconds: total.seconds,
      owners: [...held].map(([owner, partitions]) => ({ owner, partitions })).sort((a, b) => a.owner.localeCompare(b.owner)),
    };
  });
  const deadLetters = Object.fromEntries(deadLetterStreams.map((name) => [name, lag.deadLetters.get(name) ?? 0]));
  return {
    seconds: seconds.map((s, i) => toSecond(s, activity[i]!)),
    throughput: throughputByType(recent),
    latency: { ...percentiles(recentLatency), samples: sum(recentLatency) },
    groups,
    partitions: lag.partitions.map(({ partition, length, groups: byGroup }) => ({
      partition, length,
      groups: GROUPS.map((group) => ({ group, owner: owners.get(group)![partition] ?? null, lagEntries: byGroup.get(group)?.entries ?? 0 })),
    })),
    projections: query.projections.map((name) => ({
      name, lagEntries: lag.projections.get(name)?.entries ?? 0, lagSeconds: lag.projections.get(name)?.seconds ?? 0, deadLetters: deadLetters[name] ?? 0,
    })),
    deadLetters: { total: sum(Object.values(deadLetters)), byStream: deadLetters },
  };
}

function toSecond(second: number, fields: Record<string, string>): PipelineSecond {
  let accepted = 0;
  for (const [field, n] of Object.entries(fields)) if (field.startsWith(activityFields.accepted(''))) accepted += Number(n);
  const { p50Ms, p99Ms } = percentiles(latencyCounts([fields]));
  return {
    at: new Date(second * 1000).toISOString(),
    accepted, applied: Number(fields[activityFields.applied] ?? 0), stored: Number(fields[activityFields.stored] ?? 0),
    latencyP50Ms: p50Ms, latencyP99Ms: p99Ms,
  };
}

function throughputByType(seconds: Array<Record<string, string>>): TypeThroughput[] {
  const prefix = activityFields.accepted('');
  const byType = new Map<string, number>();
  for (const fields of seconds) {
    for (const [field, n] of Object.entries(fields)) {
      if (!field.startsWith(prefix)) continue;
      const type = field.slice(prefix.length);
      byType.set(type, (byType.get(type) ?? 0) + Number(n));
    }
  }
  return [...byType]
    .map(([type, lastMinute]) => ({ type, lastMinute, perSecond: lastMinute / RATE_SECONDS }))
    .sort((a, b) => b.lastMinute - a.lastMinute || a.type.localeCompare(b.type));
}

/** Entries per latency bucket, summed over the given seconds. */
function latencyCounts(seconds: Array<Record<string, string>>): number[] {
  return LATENCY_BOUNDS_MS.map((_, bucket) => sum(seconds.map((fields) => Number(fields[activityFields.latency(bucket)] ?? 0))));
}

/** The bucket bound each percentile falls under (the slowest bucket reports the last finite bound). */
function percentiles(counts: number[]): { p50Ms: number | null; p90Ms: number | null; p99Ms: number | null } {
  const total = sum(counts);
  const at = (q: number): number | null => {
    if (total === 0) return null;
    const rank = Math.ceil(q * total);
    let seen = 0;
    for (let bucket = 0; bucket < counts.length; bucket++) {
      seen += counts[bucket]!;
      if (seen >= rank) return Number.isFinite(LATENCY_BOUNDS_MS[bucket]!) ? LATENCY_BOUNDS_MS[bucket]! : LATENCY_BOUNDS_MS.at(-2)!;
    }
    return null;
  };
  return { p50Ms: at(0.5), p90Ms: at(0.9), p99Ms: at(0.99) };
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
