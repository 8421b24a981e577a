/**
 * The first line of defence for POST /api/query: only one statement, and only
 * one that reads. ClickHouse itself enforces read-only (`readonly=1`, see
 * analyst-settings.ts); this guard also refuses what `readonly=1` lets through
 * and an HTTP API must not: `KILL QUERY` (allowed in read-only mode, and on
 * embedded chDB every query runs as the same user), `INTO OUTFILE` (chDB writes
 * the file on EventDeck's host), more than one statement (chDB runs them all)
 * and a `FORMAT` clause (the request chooses the format).
 *
 * Pure. It reads SQL as ClickHouse's lexer does for strings, quoted
 * identifiers and comments; where the two could disagree it errs on refusing.
 */

import { trimStatement } from '../history/store.ts';

/** A statement fit to run, or why it is refused. */
export type GuardResult =
  | { ok: true; statement: string }
  /** `not-read-only`: not one reading statement; `bad-request`: empty, a string or comment left open, a FORMAT clause. */
  | { ok: false; kind: 'not-read-only' | 'bad-request'; reason: string };

/** First words of the statements an analyst may run. */
const READING_STATEMENTS = new Set(['SELECT', 'WITH', 'SHOW', 'DESCRIBE', 'DESC', 'EXPLAIN']);

export function checkReadOnlyStatement(sql: string): GuardResult {
  const code = codeOf(sql);
  if (code === undefined) return { ok: false, kind: 'bad-request', reason: 'The SQL has an unterminated string, quoted name or comment.' };
  // Trailing semicolons end the one statement; any other one starts a second.
  const body = trimStatement(code);
  if (body.trim() === '') return { ok: false, kind: 'bad-request', reason: 'The SQL holds no statement.' };
  if (body.includes(';')) return { ok: false, kind: 'not-read-only', reason: 'Send one statement per request; this SQL holds more than one.' };
  const first = /^[\s(]*([A-Za-z]+)/.exec(body)?.[1]?.toUpperCase();
  if (first === undefined || !READING_STATEMENTS.has(first)) {
    return {
      ok: false,
      kind: 'not-read-only',
      reason: `Only reading statements run here (SELECT, WITH, SHOW, DESCRIBE, EXPLAIN); this one starts with ${first ?? 'something else'}.`,
    };
  }
  if (/\bINTO\s+OUTFILE\b/i.test(body)) return { ok: false, kind: 'not-read-only', reason: 'INTO OUTFILE writes a file; ask for csv, ndjson or json instead.' };
  if (/\bFORMAT\s+[A-Za-z_][A-Za-z0-9_]*\s*(\bSETTINGS\b[\s\S]*)?$/i.test(body)) {
    return { ok: false, kind: 'bad-request', reason: 'Leave out the FORMAT clause: choose json, csv or ndjson with "format" or the Accept header.' };
  }
  // The statement as sent (comments kept: they may help whoever reads the query log), without its trailing semicolons.
  return { ok: true, statement: sql.slice(0, body.length) };
}

/**
 * The SQL with every string literal, quoted identifier and comment blanked out
 * (replaced by spaces, so positions stay), or undefined when one is not closed.
 */
export function codeOf(sql: string): string | undefined {
  let out = '';
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    const next = sql[i + 1];
    if (c === '-' && next === '-') {
      const end = sql.indexOf('\n', i);
      const stop = end === -1 ? sql.length : end;
      out += ' '.repeat(stop - i);
      i = stop;
    } else if (c === '/' && next === '*') {
      const end = sql.indexOf('*/', i + 2);
      if (end === -1) return undefined;
      out += ' '.repeat(end + 2 - i);
      i = end + 2;
    } else if (c === "'" || c === '"' || c === '`') {
      const end = closingQuote(sql, i);
      if (end === -1) return undefined;
      out += ' '.repeat(end + 1 - i);
      i = end + 1;
    } else {
      out += c;
      i += 1;
    }
  }
  return out;
}

/** Index of the quote that closes the one at `start`: backslash escapes, and a doubled quote stands for itself. */
function closingQuote(sql: string, start: number): number {
  const quote = sql[start];
  for (let i = start + 1; i < sql.length; i++) {
    if (sql[i] === '\\') i += 1;
    else if (sql[i] === quote) {
      if (sql[i + 1] === quote) i += 1;
      else return i;
    }
  }
  return -1;
}
