/**
 * The embedded backend: chDB, ClickHouse inside this process, with its data in
 * one directory. chDB binds one data directory per process, and its
 * synchronous calls would block the event loop, so we open one session and use
 * only the async calls (they run on libuv's thread pool).
 */
import { mkdir } from 'node:fs/promises';
import { drainPending, Session } from 'chdb';
import { HistoryQueryError, HistoryUnavailableError } from './errors.ts';
import { bindParams, type QueryParams } from './sql-params.ts';
import { checkTableName, SHARED_SETTINGS, trimStatement, type HistoryStore, type InsertOptions } from './store.ts';

/** Error codes of chDB's errors that carry a ClickHouse rejection (the rest mean the engine cannot serve). */
const REJECTIONS = new Set(['CHDB_QUERY', 'CHDB_SYNTAX', 'CHDB_INSERT']);

export async function openChdbStore(dataDir: string): Promise<HistoryStore> {
  await mkdir(dataDir, { recursive: true });
  // Settings given at connect apply to every query of the session.
  const connectionArgs = Object.entries(SHARED_SETTINGS).map(([name, value]) => `--${name}=${value}`);
  // The constructor is synchronous, but only opens the directory: once, at start.
  const session = new Session(dataDir, { connectionArgs });
  const running = new Set<Promise<unknown>>();
  let closed = false;

  /** Runs one chDB call, remembered so close() can wait for it, with its errors made ours. */
  const track = async <T>(sql: string, call: () => Promise<T>): Promise<T> => {
    if (closed) throw new HistoryUnavailableError('the chDB history store is closed');
    const pending = call();
    running.add(pending);
    try {
      return await pending;
    } catch (error) {
      throw asHistoryError(error, sql);
    } finally {
      running.delete(pending);
    }
  };

  return {
    backend: 'chdb',
    async exec(sql, params) {
      const statement = trimStatement(bindParams(sql, params));
      await track(statement, () => session.queryAsync(statement));
    },
    async query<T extends object>(sql: string, params?: QueryParams): Promise<T[]> {
      const statement = trimStatement(bindParams(sql, params));
      const result = await track(statement, () => session.queryAsync(statement, { format: 'JSONEachRow' }));
      return parseJsonEachRow<T>(result.text());
    },
    async insert(table, rows, options: InsertOptions = {}) {
      if (rows.length === 0) return;
      const values = rows.map((row) => JSON.stringify(row)).join('\n');
      const target = checkTableName(table);
      await track(`INSERT INTO ${target} FORMAT JSONEachRow`, () =>
        session.insert({ table: target, values, format: 'JSONEachRow', ...(options.signal ? { signal: options.signal } : {}) }));
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.allSettled(running);
      session.close();
      // close() may defer releasing the connection behind work that an abort left running.
      await drainPending();
    },
  };
}

function parseJsonEachRow<T>(text: string): T[] {
  const rows: T[] = [];
  for (const line of text.split('\n')) if (line.trim() !== '') rows.push(JSON.parse(line) as T);
  return rows;
}

function asHistoryError(error: unknown, sql: string): Error {
  if (!(error instanceof Error)) return new HistoryUnavailableError(`chDB failed: ${String(error)}`);
  const { code, clickhouseCode } = error as Error & { code?: string; clickhouseCode?: number };
  if (code !== undefined && REJECTIONS.has(code)) {
    return new HistoryQueryError(`${error.message}\n  in: ${sql.slice(0, 500)}`, clickhouseCode, { cause: error });
  }
  return new HistoryUnavailableError(`chDB cannot serve: ${error.message}`, { cause: error });
}
