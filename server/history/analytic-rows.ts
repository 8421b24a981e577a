/**
 * What the history writer needs to fill the analytic tables (migration 2): a
 * pure function from one event to its rows, per table. The mapping is built
 * from the live projections' pure code (projections/analytics/to-rows.ts),
 * which server/ may not import (.dependency-cruiser.cjs), so the composition
 * root (server/eventdeck.ts) hands it over through this port, the event
 * upcast to the newest version of its type first, as projections see it.
 */
import type { CloudEvent } from '../../shared/cloudevent.ts';

/** The analytic tables the history group writes, in the order of the inserts of a batch (after `events`). */
export const ANALYTIC_TABLES = ['order_items_raw', 'inventory_movements_raw', 'kpi_minute_raw', 'orders_raw'] as const;
export type AnalyticTable = (typeof ANALYTIC_TABLES)[number];

/**
 * The rows of one event, for every table (most empty). Each row holds the
 * table's own columns; the writer adds the event's identity and time
 * (EVENT_COLUMNS), as `events` has them, so all copies of an event share
 * their sorting key.
 */
export type AnalyticRows = Readonly<Record<AnalyticTable, readonly object[]>>;

/** Throws only for an event whose data its type's schema would not accept (it reached the bus past ingest). */
export type ToAnalyticRows = (event: CloudEvent) => AnalyticRows;

/** Columns of `events` that every analytic row repeats: the identity, the type and the time. */
export const EVENT_COLUMNS = ['source', 'id', 'type', 'time', 'time_unix_ms'] as const;
