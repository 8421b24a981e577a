/**
 * Analyst SQL against the history: one statement, read-only and bounded, its
 * output in a ClickHouse format as byte chunks. Each backend runs it on a
 * connection of its own, never on the history store's (so analysts cannot slow
 * the history writer's connections, and the store's settings stay untouched).
 */
import type { HistoryBackend } from '../history/store.ts';

/** Bounds of one query; ClickHouse enforces them (see analystSettings). */
export interface QueryLimits {
  /** More rows than this fail the query (result_overflow_mode 'throw'). */
  maxRows: number;
  timeoutMs: number;
  maxMemoryBytes: number;
}

/** The ClickHouse output formats EventDeck asks for. */
export type OutputFormat = 'JSON' | 'CSVWithNames' | 'JSONEachRow';

export interface RunOptions {
  format: OutputFormat;
  limits: QueryLimits;
  /** The caller went away: stop the query. */
  signal?: AbortSignal;
}

export interface AnalystSql {
  readonly backend: HistoryBackend;
  /**
   * Runs one statement (checked by statement-guard.ts, no FORMAT clause) and
   * yields its output. A rejection before any output (syntax, read-only, a
   * bound) is thrown by the first next(); one during the output by a later one.
   * Errors are HistoryQueryError (with ClickHouse's code) or HistoryUnavailableError.
   */
  run(statement: string, options: RunOptions): AsyncIterable<Uint8Array>;
  /** Stops running queries and lets go of connections; idempotent. */
  close(): Promise<void>;
}

/** How long past the limit EventDeck waits before it stops the query itself (ClickHouse's own error says more). */
export const TIMEOUT_GRACE_MS = 2_000;

/**
 * Settings of every analyst query, for both backends and every release from 18.16 on
 * (https://clickhouse.com/docs/operations/settings/permissions-for-queries#readonly,
 * https://clickhouse.com/docs/operations/settings/query-complexity):
 * - readonly=1: reads only, and no setting can be changed, so no query can lift the bounds
 *   (a SETTINGS clause or SET is refused) and table functions (file, url, remote) are refused;
 * - max_result_rows with result_overflow_mode='throw': a larger result is an error, never a
 *   silently short answer ('break' would stop at a block boundary without saying so);
 * - max_execution_time (whole seconds: 18.16 takes no fractions) with timeout_overflow_mode='throw';
 * - max_memory_usage: bytes one query may use;
 * - output_format_json_quote_64bit_integers=0: 64-bit integers as JSON numbers on both backends.
 */
export function analystSettings(limits: QueryLimits): Record<string, string | number> {
  return {
    readonly: 1,
    max_result_rows: limits.maxRows,
    result_overflow_mode: 'throw',
    max_execution_time: Math.max(1, Math.ceil(limits.timeoutMs / 1000)),
    timeout_overflow_mode: 'throw',
    max_memory_usage: limits.maxMemoryBytes,
    output_format_json_quote_64bit_integers: 0,
  };
}
