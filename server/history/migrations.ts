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
];

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
