import { describe, expect, it } from 'vitest';
import { joinJsonBlocks } from './join-json-blocks.ts';

/** A block as chDB writes it with format JSON. */
const block = (rows: string[], elapsed = 0.1) => `{
\t"meta":
\t[
\t\t{
\t\t\t"name": "n",
\t\t\t"type": "UInt64"
\t\t}
\t],

\t"data":
\t[
${rows.map((r) => `\t\t${r}`).join(',\n')}
\t],

\t"rows": ${rows.length},

\t"statistics":
\t{
\t\t"elapsed": ${elapsed},
\t\t"rows_read": 3
\t}
}
`;

async function joined(blocks: string[]): Promise<string> {
  async function* source() {
    for (const b of blocks) yield new TextEncoder().encode(b);
  }
  let text = '';
  for await (const bytes of joinJsonBlocks(source())) text += new TextDecoder().decode(bytes);
  return text;
}

describe('joining chDB JSON blocks', () => {
  it('gives one document with the rows of every block, counted together, and the last statistics', async () => {
    const text = await joined([block(['{"n": 1}', '{"n": 2}']), block([]), block(['{"n": 18446744073709551615}'], 0.2)]);
    expect(text).toContain('"n": 18446744073709551615'); // not rounded by a parse
    expect(JSON.parse(text)).toEqual({
      meta: [{ name: 'n', type: 'UInt64' }], data: [{ n: 1 }, { n: 2 }, { n: 18446744073709551615 }], rows: 3,
      statistics: { elapsed: 0.2, rows_read: 3 },
    });
  });

  it('keeps a single block as it is, and an empty answer empty', async () => {
    expect(JSON.parse(await joined([block(['{"n": "rows: 1"}'])]))).toMatchObject({ data: [{ n: 'rows: 1' }], rows: 1 });
    expect(JSON.parse(await joined([block([])]))).toMatchObject({ data: [], rows: 0 });
  });
});
