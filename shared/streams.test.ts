import { describe, expect, it } from 'vitest';
import { compareStreamIds } from './streams.ts';

describe('comparing stream ids', () => {
  it('orders by milliseconds, then sequence, as numbers rather than text', () => {
    const ids = ['10-0', '9-5', '9-10', '1700000000000-1', '1700000000000-0', '0-0', '9'];
    expect([...ids].sort(compareStreamIds)).toEqual(['0-0', '9', '9-5', '9-10', '10-0', '1700000000000-0', '1700000000000-1']);
    expect(compareStreamIds('5-1', '5-1')).toBe(0);
  });
});
