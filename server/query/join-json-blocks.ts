/**
 * chDB streams ClickHouse's JSON format block by block, each block a whole
 * document of its own ({meta, data, rows, statistics}); an answer of several
 * blocks would not parse. This joins them into the one document a ClickHouse
 * server writes: the first block's head, every block's rows, the rows counted
 * over all blocks, and the last block's tail (statistics). It works on the
 * text, without parsing rows, so 64-bit numbers keep every digit.
 */
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export async function* joinJsonBlocks(blocks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let rows = 0;
  let tail: string | undefined;
  for await (const bytes of blocks) {
    const block = split(decoder.decode(bytes));
    yield encoder.encode(tail === undefined ? block.head : block.rows === 0 || rows === 0 ? '' : ',');
    if (block.rows > 0) yield encoder.encode(block.data);
    rows += block.rows;
    tail = block.tail;
  }
  if (tail === undefined) return;
  yield encoder.encode(`\n\t],\n\n\t"rows": ${rows}${tail}`);
}

/** A block's text: head up to the data array's `[`, the rows inside it, its row count, and what follows the count. */
function split(text: string): { head: string; data: string; rows: number; tail: string } {
  const dataKey = text.indexOf('"data":');
  const open = text.indexOf('[', dataKey);
  // The envelope's "rows" key is the last one: rows' own strings come before it, statistics use other names.
  const rowsKey = text.lastIndexOf('"rows":');
  const close = text.lastIndexOf(']', rowsKey);
  const count = /^"rows":\s*(\d+)/.exec(text.slice(rowsKey));
  if (dataKey < 0 || open < 0 || rowsKey < 0 || close < open || !count) throw new Error('chDB answered a JSON block EventDeck cannot read');
  return {
    head: text.slice(0, open + 1),
    data: text.slice(open + 1, close).trim(),
    rows: Number(count[1]),
    tail: text.slice(rowsKey + count[0].length),
  };
}
