import { describe, expect, it } from 'vitest';
import { HistoryQueryError } from '../history/errors.ts';
import { withoutTrailingException } from './trailing-exception.ts';

async function* chunksOf(...texts: string[]): AsyncGenerator<Uint8Array> {
  for (const text of texts) yield Buffer.from(text);
}

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<string> {
  let text = '';
  for await (const chunk of withoutTrailingException(chunks)) text += Buffer.from(chunk).toString('utf8');
  return text;
}

describe('a ClickHouse error at the end of a streamed answer', () => {
  it('passes an answer without one through unchanged, however it is cut', async () => {
    const rows = Array.from({ length: 5000 }, (_, i) => `{"a":${i},"s":"Code: ${i}"}\n`).join('');
    const pieces = rows.match(/[\s\S]{1,777}/g)!;
    expect(await collect(chunksOf(...pieces))).toBe(rows);
    expect(await collect(chunksOf())).toBe('');
  });

  it.each([
    ['18.16 after NDJSON rows', '{"a":1}\n{"a":2}\n', 'Code: 396, e.displayText() = DB::Exception: Limit for result exceeded, max rows: 300.00 thousand, e.what() = DB::Exception\n', 396],
    ['18.16 inside a JSON document', '{\n\t"data":\n\t[\n\t\t{\n\t\t\t"a": 1\n\t\t}', 'Code: 159, e.displayText() = DB::Exception: Timeout exceeded: elapsed 1.0 seconds, e.what() = DB::Exception\n', 159],
    ['a later release after CSV rows', '"a"\n1\n2\n', 'Code: 241. DB::Exception: Memory limit (for query) exceeded. (MEMORY_LIMIT_EXCEEDED) (version 24.8.1.1)\n', 241],
  ])('throws it with its code: %s', async (_, data, error, code) => {
    const failed = collect(chunksOf(data.repeat(2000), error));
    await expect(failed).rejects.toThrowError(HistoryQueryError);
    await expect(failed).rejects.toMatchObject({ clickhouseCode: code });
    const message = await failed.catch((error: Error) => error.message);
    expect(message).toMatch(new RegExp(`^ClickHouse failed during the answer: Code: ${code}\\. \\w`));
    expect(message).not.toMatch(/e\.what\(\)|\n/);
  });
});
