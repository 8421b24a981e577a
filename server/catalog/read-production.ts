/**
 * Who produced what lately: events per type, source and minute of business
 * time over a window, from the event store (SQL for ClickHouse 18.16 and chDB).
 */
import type { CatalogProducer } from '../../shared/catalog.ts';
import type { HistoryStore } from '../history/store.ts';

export interface ProductionWindow {
  /** Start of the first minute, ms since the epoch (a whole minute). */
  fromMs: number;
  minutes: number;
}

const MINUTE_MS = 60_000;

/** The window of `minutes` whole minutes that ends with the minute holding `nowMs`. */
export function productionWindow(nowMs: number, minutes: number): ProductionWindow {
  return { fromMs: Math.floor(nowMs / MINUTE_MS) * MINUTE_MS - (minutes - 1) * MINUTE_MS, minutes };
}

/** Producers by type, busiest first (then by source). */
export async function readProduction(store: HistoryStore, window: ProductionWindow): Promise<Map<string, CatalogProducer[]>> {
  // No FINAL: copies of an event share type, source, id and time, so uniqExact(id) per
  // (type, source, minute) counts each event once; and `time` bounds the month partitions read.
  const rows = await store.query<{ type: string; source: string; minute_unix: number; events: number; last_unix_ms: number }>(
    `SELECT type, source, toUInt32(toStartOfMinute(time)) AS minute_unix, uniqExact(id) AS events, max(time_unix_ms) AS last_unix_ms
FROM events
WHERE time >= {from:DateTime} AND time < {to:DateTime}
GROUP BY type, source, minute_unix
ORDER BY type, source, minute_unix`,
    { from: new Date(window.fromMs), to: new Date(window.fromMs + window.minutes * MINUTE_MS) },
  );
  const byType = new Map<string, Map<string, CatalogProducer>>();
  for (const row of rows) {
    const sources = byType.get(row.type) ?? new Map<string, CatalogProducer>();
    byType.set(row.type, sources);
    const producer = sources.get(row.source)
      ?? { source: row.source, events: 0, perMinute: new Array<number>(window.minutes).fill(0), lastAt: new Date(row.last_unix_ms).toISOString() };
    sources.set(row.source, producer);
    const index = Math.round((row.minute_unix * 1000 - window.fromMs) / MINUTE_MS);
    if (index >= 0 && index < window.minutes) producer.perMinute[index] = row.events;
    producer.events += row.events;
    if (Date.parse(producer.lastAt) < row.last_unix_ms) producer.lastAt = new Date(row.last_unix_ms).toISOString();
  }
  return new Map([...byType].map(([type, sources]) => [
    type,
    [...sources.values()].sort((a, b) => b.events - a.events || (a.source < b.source ? -1 : a.source > b.source ? 1 : 0)),
  ]));
}
