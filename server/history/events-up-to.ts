/**
 * The stored events whose business time is at or before a moment, each once,
 * upcast to the newest version of its type: what `?asOf=` folds.
 */
import type { CloudEvent } from '../../shared/cloudevent.ts';
import { upcast, type Registry } from '../../shared/registry.ts';
import { fromEventRow, type EventRow } from './event-row.ts';
import type { HistoryStore } from './store.ts';

export async function eventsUpTo(store: HistoryStore, registry: Registry, atMs: number): Promise<CloudEvent[]> {
  // FINAL: a re-inserted event (a retried batch) counts once.
  const rows = await store.query<EventRow>(
    'SELECT * FROM events FINAL WHERE time_unix_ms <= {at:UInt64} ORDER BY time_unix_ms, source, id',
    { at: atMs },
  );
  return rows.map((row) => upcast(registry, fromEventRow(row)));
}
