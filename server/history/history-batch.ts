/**
 * What the history group does with one batch of a partition, decided before
 * any I/O (pure): each entry becomes an `events` row and its analytic rows
 * (migration 2) or, if it can never be stored, a dead letter; rows are grouped
 * by the month of their time (every table's partition key), so that each
 * insert writes one ClickHouse partition of one table.
 *
 * Events are stored as ingest accepted them, not upcast: the event store keeps
 * what producers sent (with its dataversion); upcasting is for readers. The
 * analytic rows are read from the upcast event (the ToAnalyticRows the
 * composition root hands over does that), as the live projections read it.
 */
import type { CloudEvent } from '../../shared/cloudevent.ts';
import { ENTRY_FIELDS } from '../../shared/streams.ts';
import { ANALYTIC_TABLES, EVENT_COLUMNS, type AnalyticTable, type ToAnalyticRows } from './analytic-rows.ts';
import type { StreamEntry } from './consumer-engine.ts';
import { EventTimeOutOfRangeError, toEventRow, type EventRow } from './event-row.ts';

export interface DeadLetter {
  entry: StreamEntry;
  /** Why it can never be stored, or why it has no analytic rows. */
  error: string;
  /**
   * True when the event is stored in `events` and only its analytic rows are
   * missing (its data is not what its type's schema says: it reached the bus
   * past ingest); false when nothing of it can be stored.
   */
  eventStored: boolean;
}

/** Rows of one analytic table and one month (every table's partition). */
export interface AnalyticInsert {
  table: AnalyticTable;
  month: string;
  rows: object[];
}

export interface HistoryBatch {
  partition: number;
  /** One insert into `events` per month (its partition), oldest first; rows in stream order. */
  inserts: Array<{ month: string; rows: EventRow[] }>;
  /** Then per month, oldest first, one insert per analytic table with rows (ANALYTIC_TABLES order). */
  analyticInserts: AnalyticInsert[];
  deadLetters: DeadLetter[];
  /** Every entry id of the batch, to acknowledge once it is stored. */
  ids: string[];
  /** When ingest accepted each stored event, ms since the epoch (for latency metrics). */
  acceptedAt: number[];
  /** Events stored: rows of `events`. */
  events: number;
  /** Rows of the analytic tables, over all of them. */
  analyticRows: number;
}

type MonthRows = { events: EventRow[] } & Record<AnalyticTable, object[]>;

/** Without `toAnalyticRows`, only `events` is written. */
export function planHistoryBatch(partition: number, entries: readonly StreamEntry[], toAnalyticRows?: ToAnalyticRows): HistoryBatch {
  const months = new Map<string, MonthRows>();
  const deadLetters: DeadLetter[] = [];
  const acceptedAt: number[] = [];
  let analyticRows = 0;
  for (const entry of entries) {
    const parsed = parseEntry(entry);
    if (!parsed.ok) {
      deadLetters.push({ entry, error: parsed.error, eventStored: false });
      continue;
    }
    const row = toRow(parsed.event, partition, entry.id, parsed.acceptedAt);
    if (!row.ok) {
      deadLetters.push({ entry, error: row.error, eventStored: false });
      continue;
    }
    const month = row.row.time.slice(0, 7); // "YYYY-MM", as toYYYYMM(time) partitions
    let rows = months.get(month);
    if (!rows) months.set(month, (rows = emptyMonth()));
    rows.events.push(row.row);
    acceptedAt.push(parsed.acceptedAt);
    if (!toAnalyticRows) continue;
    const analytic = analyticRowsOf(parsed.event, row.row, toAnalyticRows);
    if (!analytic.ok) {
      deadLetters.push({ entry, error: analytic.error, eventStored: true });
      continue;
    }
    for (const table of ANALYTIC_TABLES) {
      rows[table].push(...analytic.rows[table]);
      analyticRows += analytic.rows[table].length;
    }
  }
  const byMonth = [...months].sort(([a], [b]) => a.localeCompare(b));
  return {
    partition,
    inserts: byMonth.map(([month, rows]) => ({ month, rows: rows.events })),
    analyticInserts: byMonth.flatMap(([month, rows]) =>
      ANALYTIC_TABLES.filter((table) => rows[table].length > 0).map((table) => ({ table, month, rows: rows[table] }))),
    deadLetters,
    ids: entries.map((e) => e.id),
    acceptedAt,
    events: acceptedAt.length,
    analyticRows,
  };
}

function emptyMonth(): MonthRows {
  return { events: [], ...perTable(() => []) };
}

/** One value per analytic table (a literal, so the type checker sees every table). */
function perTable<T>(make: (table: AnalyticTable) => T): Record<AnalyticTable, T> {
  return {
    order_items_raw: make('order_items_raw'), inventory_movements_raw: make('inventory_movements_raw'),
    kpi_minute_raw: make('kpi_minute_raw'), orders_raw: make('orders_raw'),
  };
}

/**
 * The event's analytic rows, each with the identity and time of its `events`
 * row: copies of one event then share every table's sorting key and month.
 */
function analyticRowsOf(event: CloudEvent, row: EventRow, toAnalyticRows: ToAnalyticRows):
  { ok: true; rows: Record<AnalyticTable, object[]> } | { ok: false; error: string } {
  let rows;
  try {
    rows = toAnalyticRows(event);
  } catch (error) {
    // The mapping reads data as its type's schema describes it; ingest checked that, a direct XADD may not have.
    const { name, message } = error instanceof Error ? error : new Error(String(error));
    return { ok: false, error: `stored, but no analytic rows: ${name}: ${message}` };
  }
  const identity = Object.fromEntries(EVENT_COLUMNS.map((column) => [column, row[column]]));
  // Object.assign, not spreads: V8 builds spread copies through a slower path, and at ~4 rows per
  // event this line was over half the writer's planning time (bench/history.ts).
  return { ok: true, rows: perTable((table) => rows[table].map((r) => Object.assign({}, r, identity))) };
}

type Parsed = { ok: true; event: CloudEvent; acceptedAt: number } | { ok: false; error: string };

/** The entry's event, if it has what a row needs. Ingest validated it; a direct XADD may not have. */
function parseEntry(entry: StreamEntry): Parsed {
  const raw = entry.message[ENTRY_FIELDS.event];
  if (raw === undefined) return { ok: false, error: `entry has no "${ENTRY_FIELDS.event}" field` };
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    return { ok: false, error: `cannot decode the entry: ${(error as SyntaxError).message}` };
  }
  const problem = envelopeProblem(value);
  if (problem) return { ok: false, error: `not a storable CloudEvent: ${problem}` };
  const acceptedAt = Number(entry.message[ENTRY_FIELDS.acceptedAt] ?? 0);
  return { ok: true, event: value as CloudEvent, acceptedAt: Number.isSafeInteger(acceptedAt) && acceptedAt >= 0 ? acceptedAt : 0 };
}

function envelopeProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object';
  const event = value as Record<string, unknown>;
  for (const name of ['id', 'source', 'type', 'time', 'partitionkey'] as const) {
    if (typeof event[name] !== 'string' || event[name] === '') return `${name} is missing or not a string`;
  }
  const version = event.dataversion;
  if (!(Number.isInteger(version) && (version as number) >= 1 && (version as number) <= 0xffffffff)) {
    return 'dataversion is not an integer 1…2^32-1';
  }
  if (typeof event.data !== 'object' || event.data === null || Array.isArray(event.data)) return 'data is not a JSON object';
  return undefined;
}

function toRow(event: CloudEvent, partition: number, streamId: string, acceptedAt: number):
  { ok: true; row: EventRow } | { ok: false; error: string } {
  try {
    return { ok: true, row: toEventRow(event, { partition, streamId, acceptedAt }) };
  } catch (error) {
    // Only a time outside DateTime's range is a property of the event; anything else is a bug: let it surface.
    if (error instanceof EventTimeOutOfRangeError) return { ok: false, error: `${error.name}: ${error.message}` };
    throw error;
  }
}
