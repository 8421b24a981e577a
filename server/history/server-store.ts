/**
 * The server backend: a ClickHouse server (or cluster) over HTTP through the
 * official client. CLICKHOUSE_URL carries host, port, credentials and the
 * database (e.g. http://user:pass@ch:8123/eventdeck). Query parameters are
 * bound on our side (sql-params.ts): 18.16 has no server-side binding.
 */
import { ClickHouseError, ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { clickhouseCodeOf, HistoryQueryError, HistoryUnavailableError } from './errors.ts';
import { bindParams, type QueryParams } from './sql-params.ts';
import { checkTableName, SHARED_SETTINGS, trimStatement, type HistoryStore, type InsertOptions } from './store.ts';

export async function openServerStore(url: string): Promise<HistoryStore> {
  const client = createClient({
    url,
    application: 'eventdeck',
    clickhouse_settings: SHARED_SETTINGS,
    // Failures reach the caller as typed errors; the client's own logging would report them twice.
    log: { level: ClickHouseLogLevel.OFF },
  });
  // No ping here: a server that is down at start must not stop EventDeck (the live views do
  // not need it); the first statement reports the outage as a HistoryUnavailableError.
  let closed = false;

  const run = async <T>(sql: string, call: () => Promise<T>): Promise<T> => {
    if (closed) throw new HistoryUnavailableError('the ClickHouse history store is closed');
    try {
      return await call();
    } catch (error) {
      throw asHistoryError(error, sql);
    }
  };

  return {
    backend: 'server',
    async exec(sql, params) {
      const query = trimStatement(bindParams(sql, params));
      await run(query, () => client.command({ query }));
    },
    async query<T extends object>(sql: string, params?: QueryParams): Promise<T[]> {
      const query = trimStatement(bindParams(sql, params));
      return run(query, async () => {
        const result = await client.query({ query, format: 'JSONEachRow' });
        return result.json<T>();
      });
    },
    async insert(table, rows, options: InsertOptions = {}) {
      if (rows.length === 0) return;
      const target = checkTableName(table);
      await run(`INSERT INTO ${target} FORMAT JSONEachRow`, () =>
        client.insert({
          table: target,
          values: rows as object[],
          format: 'JSONEachRow',
          ...(options.signal ? { abort_signal: options.signal } : {}),
        }));
    },
    async close() {
      if (closed) return;
      closed = true;
      await client.close();
    },
  };
}

/** ClickHouse's answer is a rejection; anything without one (refused, reset, timed out) is an outage. */
function asHistoryError(error: unknown, sql: string): Error {
  const message = error instanceof Error ? error.message : String(error);
  const code = error instanceof ClickHouseError ? Number(error.code) : clickhouseCodeOf(message);
  if (code !== undefined) {
    return new HistoryQueryError(`${message.trim()}\n  in: ${sql.slice(0, 500)}`, Number.isNaN(code) ? undefined : code, { cause: error });
  }
  return new HistoryUnavailableError(`ClickHouse server unavailable: ${message}`, { cause: error });
}
