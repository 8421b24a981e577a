/**
 * Analyst SQL on a ClickHouse server: a client of its own (its own connection
 * pool, so analysts never hold the history writer's connections), every query
 * with the read-only bounds as settings of that request. The answer streams:
 * bytes pass through as the server sends them, never a whole result in memory.
 */
import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import type { Readable } from 'node:stream';
import { clickhouseCodeOf, HistoryQueryError, HistoryUnavailableError } from '../history/errors.ts';
import { analystSettings, TIMEOUT_GRACE_MS, type AnalystSql, type RunOptions } from './analyst-sql.ts';
import { withoutTrailingException } from './trailing-exception.ts';

export function openServerAnalyst(url: string): AnalystSql {
  const client = createClient({
    url,
    application: 'eventdeck-query',
    log: { level: ClickHouseLogLevel.OFF },
    // Each query is bounded by its own timer (run), not by the client's default of 30 s.
    request_timeout: 24 * 3600 * 1000,
  });
  let closed = false;
  return {
    backend: 'server',
    async *run(statement, options) {
      if (closed) throw new HistoryUnavailableError('the analyst query connection is closed');
      yield* runOnServer(client, statement, options);
    },
    async close() {
      if (closed) return;
      closed = true;
      await client.close();
    },
  };
}

async function* runOnServer(
  client: ReturnType<typeof createClient>, statement: string, { format, limits, signal }: RunOptions,
): AsyncGenerator<Uint8Array> {
  const stop = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    stop.abort();
  }, limits.timeoutMs + TIMEOUT_GRACE_MS);
  const onCallerGone = () => stop.abort();
  signal?.addEventListener('abort', onCallerGone, { once: true });
  let body: Readable | undefined;
  try {
    try {
      // A new line first, so a trailing comment cannot swallow the FORMAT clause.
      ({ stream: body } = await client.exec({
        query: `${statement}\nFORMAT ${format}`,
        clickhouse_settings: analystSettings(limits),
        abort_signal: stop.signal,
      }));
    } catch (error) {
      throw asAnalystError(error, timedOut, limits.timeoutMs);
    }
    try {
      yield* withoutTrailingException(body);
    } catch (error) {
      throw error instanceof HistoryQueryError ? error : asAnalystError(error, timedOut, limits.timeoutMs);
    }
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onCallerGone);
    // Ends the request when the caller stopped reading early: the server's next write fails, which ends the query.
    body?.destroy();
  }
}

/** ClickHouse's answer is a rejection; anything without one (refused, reset) is an outage. */
function asAnalystError(error: unknown, timedOut: boolean, timeoutMs: number): Error {
  if (timedOut) {
    return new HistoryQueryError(`EventDeck stopped waiting for the answer after ${timeoutMs + TIMEOUT_GRACE_MS} ms.`, TIMEOUT_EXCEEDED, {
      cause: error,
    });
  }
  const message = error instanceof Error ? error.message : String(error);
  const code = clickhouseCodeOf(message) ?? numericCode(error);
  if (code !== undefined) return new HistoryQueryError(message.trim(), code, { cause: error });
  return new HistoryUnavailableError(`ClickHouse server unavailable: ${message}`, { cause: error });
}

/** ClickHouse's TIMEOUT_EXCEEDED, for a query EventDeck stopped itself. */
const TIMEOUT_EXCEEDED = 159;

function numericCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && /^\d+$/.test(code) ? Number(code) : undefined;
}
