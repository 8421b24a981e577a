/**
 * Read models held in memory (folded from the event store up to a past time),
 * answering the views' reads with Redis semantics: ranks with negative indexes,
 * sorted sets ordered by score then member, hashes as strings.
 */
import type { ReadModelSource } from './read-model-source.ts';

/** Read models in memory, by key (the shape projections/apply-changes.ts builds). */
export interface MemoryReadModels {
  /** Documents and counters stored as strings (GET). */
  strings: ReadonlyMap<string, string>;
  hashes: ReadonlyMap<string, ReadonlyMap<string, number>>;
  zsets: ReadonlyMap<string, ReadonlyMap<string, number>>;
  sets: ReadonlyMap<string, ReadonlySet<string>>;
}

export function memorySource(models: MemoryReadModels): ReadModelSource {
  const { strings } = models;
  // Redis order: by score, then member by code unit.
  const zset = (key: string) => [...(models.zsets.get(key) ?? [])]
    .map(([member, score]) => ({ member, score }))
    .sort((a, b) => a.score - b.score || (a.member < b.member ? -1 : a.member > b.member ? 1 : 0));
  return {
    get: async (key) => strings.get(key) ?? null,
    mGet: async (keys) => keys.map((key) => strings.get(key) ?? null),
    hGetAll: async (key) => Object.fromEntries([...(models.hashes.get(key) ?? [])].map(([field, value]) => [field, String(value)])),
    sMembers: async (key) => [...(models.sets.get(key) ?? [])],
    zCard: async (key) => models.zsets.get(key)?.size ?? 0,
    zCount: async (key, min, max) => {
      const above = bound(min, 'min');
      const below = bound(max, 'max');
      return zset(key).filter(({ score }) => above(score) && below(score)).length;
    },
    zRange: async (key, start, stop, options) => {
      const ordered = zset(key).map((m) => m.member);
      return byRank(options?.REV ? ordered.reverse() : ordered, start, stop);
    },
    zRangeWithScores: async (key, start, stop) => byRank(zset(key).map(({ member, score }) => ({ value: member, score })), start, stop),
  };
}

/** ZRANGE's ranks: inclusive, negative counts from the end. */
function byRank<T>(list: T[], start: number, stop: number): T[] {
  const from = start < 0 ? Math.max(0, list.length + start) : start;
  const to = stop < 0 ? list.length + stop : Math.min(stop, list.length - 1);
  return from > to ? [] : list.slice(from, to + 1);
}

/** A ZCOUNT bound as a test of a score: '-inf', '+inf', a number, or '(' and a number for exclusive. */
function bound(text: string, side: 'min' | 'max'): (score: number) => boolean {
  if (text === '-inf') return () => true;
  if (text === '+inf' || text === 'inf') return () => true;
  const exclusive = text.startsWith('(');
  const limit = Number(exclusive ? text.slice(1) : text);
  if (side === 'min') return exclusive ? (s) => s > limit : (s) => s >= limit;
  return exclusive ? (s) => s < limit : (s) => s <= limit;
}
