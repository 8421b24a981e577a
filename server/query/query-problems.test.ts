import { describe, expect, it } from 'vitest';
import { HistoryQueryError, HistoryUnavailableError } from '../history/errors.ts';
import { clickhouseMessage, queryProblem } from './query-problems.ts';

const limits = { maxRows: 10, timeoutMs: 1000, maxMemoryBytes: 1 << 20 };
const rejected = (message: string, code: number) => queryProblem(new HistoryQueryError(message, code), limits).document;

describe('a failed analyst query as a problem document', () => {
  it('keeps ClickHouse\'s words, without its code prefix and suffixes, from any release', () => {
    expect(clickhouseMessage('Code: 47, e.displayText() = DB::Exception: Unknown identifier: nope, e.what() = DB::Exception\n'))
      .toBe('Unknown identifier: nope');
    expect(clickhouseMessage('Code: 62. DB::Exception: Syntax error: failed at position 8. (SYNTAX_ERROR) (version 26.7.2.1)'))
      .toBe('Syntax error: failed at position 8. (SYNTAX_ERROR)');
  });

  it('names the bound a query passed', () => {
    expect(rejected('Code: 158, e.displayText() = DB::Exception: Limit for result exceeded', 158))
      .toMatchObject({ type: 'https://eventdeck.dev/problems/too-many-rows', status: 422, maxRows: 10 });
    expect(rejected('Code: 396. DB::Exception: Limit for result exceeded', 396))
      .toMatchObject({ type: 'https://eventdeck.dev/problems/too-many-rows', status: 422 });
    expect(rejected('Code: 159. DB::Exception: Timeout exceeded', 159))
      .toMatchObject({ type: 'https://eventdeck.dev/problems/query-timeout', status: 504, timeoutMs: 1000 });
    expect(rejected('Code: 241. DB::Exception: Memory limit (for query) exceeded', 241))
      .toMatchObject({ type: 'https://eventdeck.dev/problems/query-memory', status: 422, maxMemoryBytes: 1 << 20 });
  });

  it('answers a write ClickHouse refused as read-only, and any other rejection as an invalid query', () => {
    expect(rejected('Code: 164. DB::Exception: Cannot execute query in readonly mode. (READONLY)', 164))
      .toMatchObject({ type: 'https://eventdeck.dev/problems/read-only', status: 400, clickhouseCode: 164 });
    expect(rejected('Code: 60. DB::Exception: Unknown table expression identifier \'nope\'. (UNKNOWN_TABLE)', 60))
      .toMatchObject({
        type: 'https://eventdeck.dev/problems/invalid-query', status: 422, clickhouseCode: 60,
        detail: 'Unknown table expression identifier \'nope\'. (UNKNOWN_TABLE)',
      });
  });

  it('answers 503 when ClickHouse does not answer, and leaves other errors to the error funnel', () => {
    expect(queryProblem(new HistoryUnavailableError('connect ECONNREFUSED'), limits).document)
      .toMatchObject({ type: 'https://eventdeck.dev/problems/unavailable', status: 503, retryable: true });
    expect(() => queryProblem(new TypeError('a bug'), limits)).toThrowError(TypeError);
  });
});
