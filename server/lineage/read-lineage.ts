/**
 * The event store reads behind /api/lineage, in SQL that ClickHouse 18.16 and
 * chDB both run (docs/history.md: visitParamExtract*, aliased columns, no SETTINGS).
 */
import { LINEAGE_MAX_EVENTS, LINEAGE_MAX_FLOWS, type Lineage, type TraceLineage } from '../../shared/lineage.ts';
import type { Registry } from '../../shared/registry.ts';
import type { HistoryStore } from '../history/store.ts';
import { lineageGraph, type LineageRow } from './lineage-graph.ts';

/** One flow's events as a graph; undefined when no stored event has that correlation id. */
export async function readLineage(store: HistoryStore, registry: Registry, correlationId: string): Promise<Lineage | undefined> {
  // FINAL: a re-inserted event (a retried batch) is one node. correlationid is not in the sorting
  // key, so this reads the column whole: fine for an operator's look, not meant for polling.
  // One more row than shown tells whether the flow was cut. LIMIT takes a literal on 18.16.
  const rows = await store.query<LineageRow>(
    `SELECT id, source, type, time_unix_ms, subject, causationid, dataversion, extensions, data
FROM events FINAL
WHERE correlationid = {correlationId:String}
ORDER BY time_unix_ms, source, id
LIMIT ${LINEAGE_MAX_EVENTS + 1}`,
    { correlationId },
  );
  if (rows.length === 0) return undefined;
  const truncated = rows.length > LINEAGE_MAX_EVENTS;
  return lineageGraph(correlationId, truncated ? rows.slice(0, LINEAGE_MAX_EVENTS) : rows, registry, truncated);
}

/**
 * The flows whose events carry a trace id in their traceparent (kept in the
 * `extensions` JSON: `00-<trace id>-<parent id>-<flags>`, the trace id from
 * character 4, 32 long). traceId: 32 lower-case hex digits.
 */
export async function readTrace(store: HistoryStore, traceId: string): Promise<TraceLineage> {
  // uniqExact over the identity counts each event once without FINAL: copies share source and id.
  // The events without a flow ('') sort first, so the limit never hides their count.
  const rows = await store.query<{ correlationid: string; events: number; first_unix_ms: number; last_unix_ms: number }>(
    `SELECT correlationid, uniqExact(source, id) AS events, min(time_unix_ms) AS first_unix_ms, max(time_unix_ms) AS last_unix_ms
FROM events
WHERE substring(visitParamExtractString(extensions, 'traceparent'), 4, 32) = {traceId:String}
GROUP BY correlationid
ORDER BY correlationid != '', first_unix_ms, correlationid
LIMIT ${LINEAGE_MAX_FLOWS + 1}`,
    { traceId },
  );
  const uncorrelated = rows.find((r) => r.correlationid === '');
  return {
    traceId,
    flows: rows.filter((r) => r.correlationid !== '').slice(0, LINEAGE_MAX_FLOWS).map((r) => ({
      correlationId: r.correlationid,
      events: r.events,
      firstAt: new Date(r.first_unix_ms).toISOString(),
      lastAt: new Date(r.last_unix_ms).toISOString(),
    })),
    uncorrelatedEvents: uncorrelated?.events ?? 0,
  };
}
