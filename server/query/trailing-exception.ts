/**
 * A ClickHouse server that fails after it began to answer (a bound passed, a
 * timeout) cannot change the HTTP status any more: it appends the error as text
 * to the body and ends it, e.g. 18.16's
 * "Code: 396, e.displayText() = DB::Exception: Limit for result exceeded, …".
 * This holds back the end of the body, and when it is such an error, throws it
 * instead of passing it on as data. Pure: bytes in, bytes out.
 */
import { HistoryQueryError } from '../history/errors.ts';

/** Longest error text expected at the end of a body; that much stays held back until the end. */
const TAIL_BYTES = 16 * 1024;

/** "Code: N, e.displayText() = DB::Exception: …" (18.16) or "Code: N. DB::Exception: …" (later releases), after a row. */
const TRAILING_EXCEPTION = /(?:^|[\n}\]])[ \t]*Code: (\d+)[,.] (?:e\.displayText\(\) = )?DB::Exception: ?([\s\S]*?)(?:, e\.what\(\) = DB::Exception)?\s*$/;

export async function* withoutTrailingException(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let held: Buffer = Buffer.alloc(0);
  for await (const chunk of chunks) {
    held = held.length === 0 ? Buffer.from(chunk) : Buffer.concat([held, chunk]);
    if (held.length > TAIL_BYTES) {
      yield held.subarray(0, held.length - TAIL_BYTES);
      held = held.subarray(held.length - TAIL_BYTES);
    }
  }
  const failure = TRAILING_EXCEPTION.exec(held.toString('utf8'));
  if (failure) {
    const [, code, message] = failure;
    throw new HistoryQueryError(`ClickHouse failed during the answer: Code: ${code}. ${message}`, Number(code));
  }
  if (held.length > 0) yield held;
}
