/**
 * The history store: one small interface over the two ClickHouse backends
 * (DESIGN.md section 6), embedded chDB and a ClickHouse server. Callers write
 * one SQL for both, so keep to what ClickHouse 18.16 understands.
 *
 * Both backends answer with the same JSON for the same query:
 * - rows are objects keyed by column name (alias every expression: servers of
 *   different ages name `count()` and friends differently);
 * - 64-bit integers are JSON numbers on both (ClickHouse 18.16 quotes them by
 *   default, chDB does not; we set output_format_json_quote_64bit_integers=0 on
 *   both). Counts and epoch milliseconds stay far below 2^53; cast a column
 *   that may not, e.g. a sum of huge values, with toString() in the query;
 * - DateTime columns are "YYYY-MM-DD hh:mm:ss" in the column's time zone
 *   (EventDeck's tables use DateTime('UTC')).
 */
import type { QueryParams } from './sql-params.ts';

export type HistoryBackend = 'chdb' | 'server';

export interface InsertOptions {
  /** Give up waiting (the statement may still complete: inserts must be safe to repeat). */
  signal?: AbortSignal;
}

export interface HistoryStore {
  readonly backend: HistoryBackend;
  /** Runs a statement that returns no rows (DDL, INSERT … SELECT, OPTIMIZE). */
  exec(sql: string, params?: QueryParams): Promise<void>;
  /** Runs a SELECT (without a FORMAT clause) and returns its rows as objects. */
  query<T extends object = Record<string, unknown>>(sql: string, params?: QueryParams): Promise<T[]>;
  /** Appends rows as JSONEachRow: keys are column names, missing columns take their defaults. */
  insert(table: string, rows: readonly object[], options?: InsertOptions): Promise<void>;
  /** Waits for what is running, then releases the connection; idempotent. */
  close(): Promise<void>;
}

/**
 * Settings both backends get, so their answers match. A link per setting:
 * https://clickhouse.com/docs/operations/settings/formats#output_format_json_quote_64bit_integers
 */
export const SHARED_SETTINGS = {
  output_format_json_quote_64bit_integers: 0,
} as const;

/** A table name as ClickHouse accepts it unquoted; anything else is refused rather than quoted. */
export function checkTableName(table: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/.test(table)) {
    throw new TypeError(`"${table}" is not a plain table name`);
  }
  return table;
}

/** The statement without trailing semicolons and blanks: both backends append their own FORMAT. */
export function trimStatement(sql: string): string {
  // A loop, not /[\s;]+$/: that regex retries from every blank of a long run (a blanked-out string
  // literal), which is quadratic; 100 kB of them took the guard 20 s.
  let end = sql.length;
  while (end > 0 && /[\s;]/.test(sql[end - 1]!)) end--;
  return sql.slice(0, end);
}
