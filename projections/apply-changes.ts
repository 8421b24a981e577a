/**
 * Redis read models in memory: what a list of Changes leaves behind. Used by
 * tests to compare index contents, and by the asOf feature to rebuild a past
 * state from the event store without touching the live keys.
 */
import type { Change } from './projection.ts';

/** Hashes, sorted sets and sets by key; empty ones are gone, as in Redis. */
export interface InMemoryReadModels {
  hashes: Map<string, Map<string, number>>;
  zsets: Map<string, Map<string, number>>;
  sets: Map<string, Set<string>>;
}

export function emptyReadModels(): InMemoryReadModels {
  return { hashes: new Map(), zsets: new Map(), sets: new Map() };
}

/** The model after `changes`, applied in order with Redis semantics. `model` itself is left as it was. */
export function applyChanges(model: InMemoryReadModels, changes: Iterable<Change>): InMemoryReadModels {
  const next: InMemoryReadModels = { hashes: new Map(model.hashes), zsets: new Map(model.zsets), sets: new Map(model.sets) };
  // Copy-on-write per key: a container is cloned the first time this call touches it.
  const copied = new Set<object>();
  const own = <V extends Map<string, number> | Set<string>>(store: Map<string, V>, key: string, make: (from?: V) => V): V => {
    const existing = store.get(key);
    if (existing && copied.has(existing)) return existing;
    const fresh = make(existing);
    copied.add(fresh);
    store.set(key, fresh);
    return fresh;
  };
  const cloneMap = (from?: Map<string, number>) => new Map(from);
  const cloneSet = (from?: Set<string>) => new Set(from);

  for (const change of changes) {
    switch (change.op) {
      case 'hincr': {
        const hash = own(next.hashes, change.key, cloneMap);
        hash.set(change.field, (hash.get(change.field) ?? 0) + change.by);
        break;
      }
      case 'zadd':
        own(next.zsets, change.key, cloneMap).set(change.member, change.score);
        break;
      case 'zrem': {
        if (!next.zsets.get(change.key)?.has(change.member)) break;
        const zset = own(next.zsets, change.key, cloneMap);
        zset.delete(change.member);
        if (zset.size === 0) next.zsets.delete(change.key);
        break;
      }
      case 'sadd':
        own(next.sets, change.key, cloneSet).add(change.member);
        break;
    }
  }
  return next;
}

/** A hash as HGETALL returns it: field → decimal string. */
export function readHash(model: InMemoryReadModels, key: string): Record<string, string> {
  return Object.fromEntries([...(model.hashes.get(key) ?? [])].map(([field, value]) => [field, String(value)]));
}

/** A sorted set as ZRANGE … WITHSCORES returns it: by score, then member. */
export function readZset(model: InMemoryReadModels, key: string): { member: string; score: number }[] {
  return [...(model.zsets.get(key) ?? [])]
    .map(([member, score]) => ({ member, score }))
    .sort((a, b) => a.score - b.score || (a.member < b.member ? -1 : a.member > b.member ? 1 : 0));
}
