/**
 * The two ways a history statement fails, whatever the backend, each with a
 * stable code: the store cannot be reached (retry later; the history group
 * keeps its entries pending), or ClickHouse rejected the statement (a bug or a
 * bad analyst query; retrying will not help).
 */

/** The ClickHouse server does not answer (down, restarting, unreachable). */
export class HistoryUnavailableError extends Error {
  override readonly name = 'HistoryUnavailableError';
  readonly code = 'EVENTDECK_HISTORY_UNAVAILABLE';
}

/** ClickHouse answered with an error; `clickhouseCode` is its numeric code when known. */
export class HistoryQueryError extends Error {
  override readonly name = 'HistoryQueryError';
  readonly code = 'EVENTDECK_HISTORY_QUERY_FAILED';

  constructor(
    message: string,
    readonly clickhouseCode: number | undefined,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * The numeric code in a ClickHouse error text. Old servers (18.16) write
 * "Code: 62, e.displayText() = ...", new ones "Code: 62. DB::Exception: ...";
 * the client libraries only parse the new form, so we read it ourselves.
 */
export function clickhouseCodeOf(message: string): number | undefined {
  const match = /\bCode: (\d+)[.,]/.exec(message);
  return match ? Number(match[1]) : undefined;
}
