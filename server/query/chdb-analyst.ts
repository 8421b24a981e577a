/**
 * Analyst SQL on embedded chDB: each query gets a chDB session of its own on
 * the history's data directory, opened with the read-only bounds as connection
 * settings (chDB lets several connections share one directory, each with its
 * own settings; opening one takes well under a millisecond). The history
 * store's session is never touched, and since a chDB session streams one query
 * at a time, one session per query lets analysts stream side by side.
 */
import { mkdir } from 'node:fs/promises';
import { clickhouseCodeOf, HistoryQueryError, HistoryUnavailableError } from '../history/errors.ts';
import { analystSettings, TIMEOUT_GRACE_MS, type AnalystSql, type RunOptions } from './analyst-sql.ts';
import { joinJsonBlocks } from './join-json-blocks.ts';

type Chdb = typeof import('chdb');

export function openChdbAnalyst(dataDir: string): AnalystSql {
  // Loaded on first use: chDB brings a large native library into the process.
  let loading: Promise<Chdb> | undefined;
  const load = () => (loading ??= mkdir(dataDir, { recursive: true }).then(() => import('chdb')));
  const open = new Set<{ close(): void }>();
  let closed = false;

  async function* run(statement: string, { format, limits, signal }: RunOptions): AsyncGenerator<Uint8Array> {
    const chdb = await load();
    if (closed) throw new HistoryUnavailableError('the analyst query connection is closed');
    const connectionArgs = Object.entries(analystSettings(limits)).map(([name, value]) => `--${name}=${value}`);
    let session;
    try {
      session = new chdb.Session(dataDir, { connectionArgs });
    } catch (error) {
      throw new HistoryUnavailableError(`chDB cannot open a query session: ${(error as Error).message}`, { cause: error });
    }
    open.add(session);
    // The engine stops at max_execution_time; this only ends the wait should it not.
    const stop = AbortSignal.any([AbortSignal.timeout(limits.timeoutMs + TIMEOUT_GRACE_MS), ...(signal ? [signal] : [])]);
    let stream;
    try {
      try {
        stream = session.queryStream(statement, { format, signal: stop });
        const blocks = chunksOf(stream, format);
        // chDB writes each block as a JSON document of its own: joined, they make the one answer.
        yield* format === 'JSON' ? joinJsonBlocks(blocks) : blocks;
      } catch (error) {
        if (!cannotStream(error)) throw error;
        // chDB streams SELECTs only; SHOW, DESCRIBE and EXPLAIN answer whole (their answers are small).
        const result = await session.queryAsync(statement, { format, signal: stop });
        yield result.bytes();
      }
    } catch (error) {
      throw asAnalystError(error, stop, limits.timeoutMs);
    } finally {
      stream?.cancel();
      open.delete(session);
      // close() defers releasing the connection until a fetch still running has ended.
      session.close();
    }
  }

  return {
    backend: 'chdb',
    run,
    async close() {
      if (closed) return;
      closed = true;
      for (const session of open) session.close();
      open.clear();
      if (loading) await (await loading).drainPending();
    },
  };
}

/** The stream's bytes; chDB writes a CSV header with each block, of which the first is kept. */
async function* chunksOf(stream: AsyncIterable<{ raw(): Uint8Array }>, format: string): AsyncGenerator<Uint8Array> {
  let first = true;
  for await (const chunk of stream) {
    yield first || format !== 'CSVWithNames' ? chunk.raw() : withoutFirstLine(chunk.raw());
    first = false;
  }
}

/** The bytes after the first line (a CSV header: column names hold no line breaks in practice). */
function withoutFirstLine(bytes: Uint8Array): Uint8Array {
  const end = bytes.indexOf(0x0a);
  return end < 0 ? new Uint8Array(0) : bytes.subarray(end + 1);
}

/** ClickHouse's TIMEOUT_EXCEEDED, for a query EventDeck stopped waiting for. */
const TIMEOUT_EXCEEDED = 159;

/** chDB's refusal to stream a statement that is not a SELECT (BAD_ARGUMENTS), before any output. */
function cannotStream(error: unknown): boolean {
  return error instanceof Error && /Streaming query is not supported/.test(error.message);
}

/** Errors carrying ClickHouse's text are rejections; the rest mean the engine cannot serve. */
function asAnalystError(error: unknown, stop: AbortSignal, timeoutMs: number): Error {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error instanceof Error ? (error as Error & { clickhouseCode?: number }).clickhouseCode : undefined)
    ?? clickhouseCodeOf(message);
  if (code !== undefined) return new HistoryQueryError(message.trim(), code, { cause: error });
  if (stop.aborted && (stop.reason as Error | undefined)?.name === 'TimeoutError') {
    const waited = `EventDeck stopped waiting for the answer after ${timeoutMs + TIMEOUT_GRACE_MS} ms.`;
    return new HistoryQueryError(waited, TIMEOUT_EXCEEDED, { cause: error });
  }
  return new HistoryUnavailableError(`chDB cannot serve: ${message}`, { cause: error });
}
