import { describe, expect, it } from 'vitest';
import { memorySource } from './memory-source.ts';

const source = memorySource({
  strings: new Map([['doc', '{"a":1}']]),
  hashes: new Map([['h', new Map([['f', 3]])]]),
  zsets: new Map([['z', new Map([['b', 2], ['a', 2], ['c', 1], ['d', 5]])]]),
  sets: new Map([['s', new Set(['x'])]]),
});

describe('read models in memory, read as Redis would answer', () => {
  it('orders a sorted set by score then member, with ranks counted from either end and REV', async () => {
    expect(await source.zRange('z', 0, -1)).toEqual(['c', 'a', 'b', 'd']);
    expect(await source.zRange('z', 0, 1, { REV: true })).toEqual(['d', 'b']);
    expect(await source.zRange('z', -2, -1)).toEqual(['b', 'd']);
    expect(await source.zRange('z', 5, 9)).toEqual([]);
    expect(await source.zRangeWithScores('z', 0, 0)).toEqual([{ value: 'c', score: 1 }]);
  });

  it('counts by score with inclusive, exclusive and infinite bounds', async () => {
    expect(await source.zCount('z', '-inf', '(2')).toBe(1);
    expect(await source.zCount('z', '2', '+inf')).toBe(3);
    expect(await source.zCount('z', '(2', '5')).toBe(1);
    expect(await source.zCard('missing')).toBe(0);
  });

  it('answers strings, hashes as strings, and sets; missing keys as Redis does', async () => {
    expect(await source.mGet(['doc', 'none'])).toEqual(['{"a":1}', null]);
    expect(await source.hGetAll('h')).toEqual({ f: '3' });
    expect(await source.hGetAll('none')).toEqual({});
    expect(await source.sMembers('s')).toEqual(['x']);
  });
});
