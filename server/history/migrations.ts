/**
 * Versioned schema migrations of the history store, applied at start in
 * order. Each is recorded in `schema_migrations` once applied; a start applies
 * only the ones not recorded. Statements are idempotent (IF NOT EXISTS), so a
 * migration cut short before its record, or two processes starting at once,
 * simply run it again. Never edit a released migration: add the next version.
 * SQL must run on ClickHouse 18.16 and on chDB (DESIGN.md section 6).
 */
import type { HistoryStore } from './store.ts';

export interface Migration {
  version: number;
  name: string;
  sql: readonly string[];
}

export const MIGRATIONS_TABLE = 'schema_migrations';

// ReplacingMergeTree keyed on version: if two processes record the same version, merges keep one.
const createMigrationsTable = `
CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (
  version UInt32,
  name String,
  applied_at DateTime('UTC')
) ENGINE = ReplacingMergeTree ORDER BY version`;

export const HISTORY_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'events',
    sql: [`
CREATE TABLE IF NOT EXISTS events (
  -- The CloudEvents envelope (DESIGN.md section 3). Absent optional attributes are '' (not
  -- Nullable: no Nullable column may be in a sorting key, and '' is easier to filter on).
  id String,
  source String,
  type String,
  specversion String,
  dataversion UInt32,
  -- Business time: DateTime for analysts' date functions, plus the exact epoch milliseconds
  -- (ClickHouse 18.16 has no DateTime64).
  time DateTime('UTC'),
  time_unix_ms UInt64,
  subject String,
  partitionkey String,
  correlationid String,
  causationid String,
  -- Every other attribute (datacontenttype, dataschema, traceparent, tracestate, extensions)
  -- as one JSON object, so nothing the producer sent is lost.
  extensions String,
  -- The data as JSON text: 18.16 has no JSON type and no JSONExtract; use visitParamExtract*.
  data String,
  -- Where the bus held it: partition number, Redis stream entry id, and when ingest accepted it.
  stream_partition UInt16,
  stream_id String,
  accepted_unix_ms UInt64
)
-- Replacing: a redelivered event (at-least-once delivery) is a second row with the same sorting
-- key, and merges keep one. Until they do, count distinct events with FINAL or GROUP BY source, id.
ENGINE = ReplacingMergeTree
-- Months bound the parts a time-range query reads, and old history can be dropped by the month.
-- Every copy of an event has the same time, so copies meet in one partition, where merges see them.
PARTITION BY toYYYYMM(time)
-- The key serves both usual reads. type first: it has few values, so "a type over a time range"
-- reads one contiguous range per month, and "one aggregate's events" (partitionkey, second) is
-- still found by the index, one small range per type. source, id end it: the event identity, so
-- two different events never collapse. type and partitionkey follow from the event itself, so
-- copies of one event always share the whole key.
ORDER BY (type, partitionkey, source, id)`,
    ],
  },
  {
    version: 2,
    name: 'analytics',
    sql: analyticsTables(),
  },
  {
    version: 3,
    name: 'alerts',
    sql: [
      // One row per change of an alert (fired, acknowledged, resolved), with the alert as it was then;
      // written from the alert changes stream by the history role. A change written twice (a retried
      // insert) has the same key and month, so merges keep one; the view collapses copies not merged yet.
      `
CREATE TABLE IF NOT EXISTS alerts_raw (
  alert_id String,
  change String,
  changed_at DateTime('UTC'),
  changed_at_unix_ms UInt64,
  rule String,
  key String,
  severity String,
  state String,
  value Float64,
  message String,
  first_fired_at DateTime('UTC'),
  acknowledged_by String,
  note String
) ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(changed_at) ORDER BY (rule, alert_id, change)`,
      `
CREATE VIEW IF NOT EXISTS alerts AS
SELECT alert_id, change, changed_at, changed_at_unix_ms, rule, key, severity, state, value, message, first_fired_at, acknowledged_by, note
FROM alerts_raw FINAL`,
    ],
  },
  {
    version: 4,
    name: 'audit_log',
    sql: [
      // One row per privileged action, copied from the audit stream by the history role; the stream
      // entry id is the identity, so a retried insert collapses in merges and in the view.
      `
CREATE TABLE IF NOT EXISTS audit_log_raw (
  id String,
  at DateTime('UTC'),
  at_unix_ms UInt64,
  actor String,
  actor_kind String,
  action String,
  target String,
  outcome String,
  detail String
) ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(at) ORDER BY (at, id)`,
      `
CREATE VIEW IF NOT EXISTS audit_log AS
SELECT id, at, at_unix_ms, actor, actor_kind, action, target, outcome, detail
FROM audit_log_raw FINAL`,
    ],
  },
];

/**
 * Migration 2: the analytic tables (docs/history.md, "Analytic tables").
 *
 * Each `*_raw` table holds rows derived from one event each (in TypeScript:
 * projections/analytics/to-rows.ts; 18.16 has no JSON functions worth the
 * name), written by the history group with the event's `events` row. Like
 * `events`, it is a ReplacingMergeTree whose sorting key ends with the event
 * identity (+ the line or sku within the event), and every copy of an event
 * has the same key and month, so a batch inserted twice collapses on merge.
 * Analysts read the views, named as the docs name them, which collapse copies
 * not yet merged (FINAL) and aggregate where the docs say so; a plain
 * `SELECT sum(...)` over a view is exact. Money is kept in integer units of
 * 1/10,000 (MONEY_SCALE), as the read models sum it, and divided in the views.
 * The SQL is written out here, not built from shared code: a migration must
 * never change once released.
 */
function analyticsTables(): string[] {
  const identity = `
  source String,
  id String,
  type String,
  time DateTime('UTC'),
  time_unix_ms UInt64,`;
  // As events: copies of an event share its time, so they meet in one partition, where merges see them.
  const engine = (orderBy: string) => `ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(time) ORDER BY (${orderBy})`;
  const stages = ['placed', 'reserved', 'paid', 'shipped', 'delivered', 'cancelled'];
  return [
    `
CREATE TABLE IF NOT EXISTS order_items_raw (${identity}
  order_id String,
  line UInt32,
  sku String,
  qty UInt32,
  unit_price_units Int64,
  line_total_units Int64,
  currency String,
  warehouse_id String,
  channel String
) ${engine('order_id, source, id, line')}`,
    `
CREATE TABLE IF NOT EXISTS inventory_movements_raw (${identity}
  warehouse_id String,
  sku String,
  on_hand_delta Int64,
  reserved_delta Int64,
  order_id String
) ${engine('warehouse_id, sku, source, id')}`,
    `
CREATE TABLE IF NOT EXISTS kpi_minute_raw (${identity}
  minute DateTime('UTC'),
  currency String,
  orders_placed UInt8,
  payments_authorized UInt8,
  payments_failed UInt8,
  cancellations UInt8,
  shipments UInt8,
  deliveries UInt8,
  gmv_units Int64,
  authorized_units Int64
) ${engine('minute, source, id')}`,
    // Each row: the order as its one event makes it. Ranks are text that sorts as the orders
    // projection ranks events (earliest wins), '' where the event makes no claim.
    `
CREATE TABLE IF NOT EXISTS orders_raw (${identity}
  order_id String,
  stage String,
  customer_id String,
  channel String,
  currency String,
  total_units Int64,
  item_count UInt32,
  placed_rank String,
  warehouse_id String,
  warehouse_rank String,
  payment_failures UInt8,
  refunded_units Int64,
  cancel_reason String,
  cancel_rank String
) ${engine('order_id, source, id')}`,
    `
CREATE VIEW IF NOT EXISTS order_items AS
SELECT source, id, time, time_unix_ms, order_id, line, sku, qty,
  unit_price_units / 10000 AS unit_price, line_total_units / 10000 AS line_total, currency, warehouse_id, channel
FROM order_items_raw FINAL`,
    `
CREATE VIEW IF NOT EXISTS inventory_movements AS
SELECT source, id, type, time, time_unix_ms, warehouse_id, sku, on_hand_delta, reserved_delta, order_id
FROM inventory_movements_raw FINAL`,
    // One row per minute and currency: each event counts in the row of its currency ('' for none).
    `
CREATE VIEW IF NOT EXISTS kpi_minute AS
SELECT minute, currency,
  sum(orders_placed) AS orders_placed,
  sum(gmv_units) / 10000 AS gmv,
  sum(payments_authorized) AS payments_authorized,
  sum(payments_failed) AS payments_failed,
  sum(authorized_units) / 10000 AS authorized_amount,
  sum(cancellations) AS cancellations,
  sum(shipments) AS shipments,
  sum(deliveries) AS deliveries
FROM kpi_minute_raw FINAL
GROUP BY minute, currency`,
    // The Order read model (DESIGN.md section 4) merged from the rows of its events: the earliest
    // ranked order.placed, warehouse and cancellation; the first time of each stage; sums.
    `
CREATE VIEW IF NOT EXISTS orders AS
SELECT
  order_id,
  if(placed_events > 0, placed_customer_id, NULL) AS customer_id,
  if(warehouse_claims > 0, claimed_warehouse_id, NULL) AS warehouse_id,
  if(placed_events > 0, placed_channel, NULL) AS channel,
  if(placed_events > 0, placed_currency, NULL) AS currency,
  if(placed_events > 0, placed_total_units / 10000, NULL) AS total,
  if(placed_events > 0, placed_item_count, 0) AS item_count,
  multiIf(reached_delivered > 0, 'delivered', reached_cancelled > 0, 'cancelled', reached_shipped > 0, 'shipped',
    reached_paid > 0, 'paid', reached_reserved > 0, 'reserved', 'placed') AS status,
  ${stages.map((s) => `if(reached_${s} > 0, first_${s}, NULL) AS ${s}_at,
  if(reached_${s} > 0, first_${s}_ms, NULL) AS ${s}_at_unix_ms,`).join('\n  ')}
  failures AS payment_failures,
  refunded_sum_units / 10000 AS refunded,
  if(cancel_claims > 0, claimed_cancel_reason, NULL) AS cancel_reason,
  last_event_at,
  last_event_at_unix_ms
FROM (
  SELECT
    order_id,
    countIf(placed_rank != '') AS placed_events,
    argMinIf(customer_id, placed_rank, placed_rank != '') AS placed_customer_id,
    argMinIf(channel, placed_rank, placed_rank != '') AS placed_channel,
    argMinIf(currency, placed_rank, placed_rank != '') AS placed_currency,
    argMinIf(total_units, placed_rank, placed_rank != '') AS placed_total_units,
    argMinIf(item_count, placed_rank, placed_rank != '') AS placed_item_count,
    countIf(warehouse_rank != '') AS warehouse_claims,
    argMinIf(warehouse_id, warehouse_rank, warehouse_rank != '') AS claimed_warehouse_id,
    countIf(cancel_rank != '') AS cancel_claims,
    argMinIf(cancel_reason, cancel_rank, cancel_rank != '') AS claimed_cancel_reason,
    ${stages.map((s) => `countIf(stage = '${s}') AS reached_${s},
    minIf(time, stage = '${s}') AS first_${s},
    minIf(time_unix_ms, stage = '${s}') AS first_${s}_ms,`).join('\n    ')}
    sum(payment_failures) AS failures,
    sum(refunded_units) AS refunded_sum_units,
    max(time) AS last_event_at,
    max(time_unix_ms) AS last_event_at_unix_ms
  FROM orders_raw FINAL
  GROUP BY order_id
)`,
  ];
}

/** The recorded migrations disagree with this EventDeck's list; starting could corrupt history. */
export class MigrationError extends Error {
  override readonly name = 'MigrationError';
  readonly code = 'EVENTDECK_HISTORY_SCHEMA_MISMATCH';
}

export interface MigrationReport {
  /** Versions applied by this call, in order (empty when the schema was current). */
  applied: number[];
}

/** Brings the store's schema up to the newest migration; safe to call on every start. */
export async function applyMigrations(
  store: HistoryStore,
  migrations: readonly Migration[] = HISTORY_MIGRATIONS,
): Promise<MigrationReport> {
  checkOrder(migrations);
  await store.exec(createMigrationsTable);
  const recorded = await store.query<{ version: number; name: string }>(
    `SELECT version, any(name) AS name FROM ${MIGRATIONS_TABLE} GROUP BY version ORDER BY version`,
  );
  const known = new Map(migrations.map((m) => [m.version, m]));
  for (const { version, name } of recorded) {
    const mine = known.get(version);
    if (!mine) {
      throw new MigrationError(`the history schema is at version ${version}, newer than this EventDeck knows: upgrade EventDeck`);
    }
    if (mine.name !== name) {
      throw new MigrationError(`history migration ${version} was recorded as "${name}", but this EventDeck calls it "${mine.name}"`);
    }
  }
  const done = new Set(recorded.map((r) => r.version));
  const applied: number[] = [];
  for (const migration of migrations) {
    if (done.has(migration.version)) continue;
    for (const statement of migration.sql) await store.exec(statement);
    // The database's clock stamps it: one clock for every node that migrates.
    await store.exec(
      `INSERT INTO ${MIGRATIONS_TABLE} (version, name, applied_at) SELECT {version:UInt32}, {name:String}, now()`,
      { version: migration.version, name: migration.name },
    );
    applied.push(migration.version);
  }
  return { applied };
}

function checkOrder(migrations: readonly Migration[]): void {
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new MigrationError(`history migrations must be numbered 1, 2, 3, … in order; found ${migration.version} at position ${index + 1}`);
    }
  });
}
