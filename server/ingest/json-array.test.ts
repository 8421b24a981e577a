import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseJsonArray } from './json-array.ts';

const read = (text: string) => parseJsonArray(Buffer.from(text, 'utf8'));

/** JSON texts of arrays, compact or indented, and the same with one byte of framing taken out or put in. */
const arrayText = fc.tuple(fc.array(fc.jsonValue()), fc.constantFrom(undefined, 2, '\t'))
  .map(([value, indent]) => JSON.stringify(value, null, indent));
const damaged = fc.tuple(arrayText, fc.nat(), fc.constantFrom('', '[', ']', '{', '}', ',', '"', '\\', ' ', 'x'), fc.boolean())
  .map(([text, at, piece, replace]) => {
    const i = text.length === 0 ? 0 : at % text.length;
    return text.slice(0, i) + piece + text.slice(replace ? i + 1 : i);
  });

describe('parseJsonArray', () => {
  it('gives what JSON.parse gives for every JSON array, however it is spaced', () => {
    fc.assert(fc.property(arrayText, (text) => {
      expect(read(text)).toEqual(JSON.parse(text));
    }), { numRuns: 500 });
  });

  it('never accepts what JSON.parse refuses, and never reads an accepted text differently', () => {
    fc.assert(fc.property(damaged, (text) => {
      const elements = read(text);
      if (elements === undefined) return; // the caller parses the whole text
      expect(elements).toEqual(JSON.parse(text));
    }), { numRuns: 2000 });
  });

  it('reads brackets, commas and escaped quotes inside strings as text', () => {
    expect(read('[{"a":"],[{"}, "\\"]", "é,ü", [1,[2]]]')).toEqual([{ a: '],[{' }, '"]', 'é,ü', [1, [2]]]);
    expect(read(' [ ] \n')).toEqual([]);
  });

  it('leaves the whole text to JSON.parse when the framing is not a plain array', () => {
    for (const text of ['[1,]', '[,1]', '[1] x', '{"a":1}', '[1', '', '\ufeff[1]', '[1 2]']) expect(read(text)).toBeUndefined();
  });
});
