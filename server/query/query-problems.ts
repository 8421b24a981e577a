/**
 * How a failed analyst query reads as a problem document (docs/http.md):
 * the bound it passed, ClickHouse's own words for a statement it rejected,
 * or 503 when ClickHouse cannot be reached.
 */
import { HistoryQueryError, HistoryUnavailableError } from '../history/errors.ts';
import { ProblemError } from '../http/problem.ts';
import type { QueryLimits } from './analyst-sql.ts';

/** ClickHouse's error codes (src/Common/ErrorCodes.cpp) that EventDeck answers with their own problem. */
const CODES = {
  TOO_MANY_ROWS: 158,
  TIMEOUT_EXCEEDED: 159,
  READONLY: 164,
  MEMORY_LIMIT_EXCEEDED: 241,
  TOO_MANY_ROWS_OR_BYTES: 396,
} as const;

/** The problem for an error of AnalystSql.run; any other error is a bug and is rethrown. */
export function queryProblem(error: unknown, limits: QueryLimits): ProblemError {
  if (error instanceof HistoryUnavailableError) {
    return new ProblemError('unavailable', 503, 'ClickHouse does not answer; try again later.', { retryable: true });
  }
  if (!(error instanceof HistoryQueryError)) throw error;
  const clickhouseCode = error.clickhouseCode;
  const said = clickhouseMessage(error.message);
  switch (clickhouseCode) {
    case CODES.TOO_MANY_ROWS:
    case CODES.TOO_MANY_ROWS_OR_BYTES:
      return new ProblemError('tooManyRows', 422,
        `The result has more than ${limits.maxRows} rows; narrow it (WHERE, LIMIT) or aggregate. ClickHouse: ${said}`,
        { maxRows: limits.maxRows, clickhouseCode });
    case CODES.TIMEOUT_EXCEEDED:
      return new ProblemError('queryTimeout', 504,
        `The query ran longer than ${limits.timeoutMs} ms and was stopped. ClickHouse: ${said}`,
        { timeoutMs: limits.timeoutMs, clickhouseCode });
    case CODES.MEMORY_LIMIT_EXCEEDED:
      return new ProblemError('queryMemory', 422,
        `The query needs more than ${limits.maxMemoryBytes} bytes of memory. ClickHouse: ${said}`,
        { maxMemoryBytes: limits.maxMemoryBytes, clickhouseCode });
    case CODES.READONLY:
      return new ProblemError('readOnly', 400, `ClickHouse refused it in read-only mode: ${said}`, { clickhouseCode });
    default:
      return new ProblemError('invalidQuery', 422, said, clickhouseCode === undefined ? {} : { clickhouseCode });
  }
}

/** ClickHouse's message without the code prefix, the 18.16 "e.what()" suffix and the release. */
export function clickhouseMessage(text: string): string {
  const message = text
    .replace(/^[\s\S]*?Code: \d+[,.] (e\.displayText\(\) = )?(DB::Exception: )?/, '')
    .replace(/, e\.what\(\) = DB::Exception\s*$/, '')
    .replace(/ \(version [^)]*\)\.?\s*$/, '')
    .trim();
  return message.length > 2000 ? `${message.slice(0, 2000)}…` : message;
}
