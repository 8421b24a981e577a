import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseTime } from './time.ts';

describe('parseTime', () => {
  it('is Date.parse for every instant written by toISOString', () => {
    const instant = fc.date({ min: new Date('0000-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true });
    fc.assert(fc.property(instant, (date) => {
      const time = date.toISOString();
      expect(parseTime(time)).toBe(Date.parse(time));
    }), { numRuns: 5000 });
  });

  it('is Date.parse for ISO-shaped text that is no calendar time, and for other spellings', () => {
    const shaped = fc.tuple(
      fc.integer({ min: 0, max: 9999 }), fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 99 }),
      fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 999 }),
    ).map(([y, mo, d, h, mi, s, ms]) => {
      const pad = (n: number, width: number) => String(n).padStart(width, '0');
      return `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}T${pad(h, 2)}:${pad(mi, 2)}:${pad(s, 2)}.${pad(ms, 3)}Z`;
    });
    fc.assert(fc.property(shaped, (time) => {
      expect(parseTime(time)).toBe(Date.parse(time));
    }), { numRuns: 5000 });
    for (const time of ['2026-11-26T10:00:00Z', '2026-11-26T11:00:00.000+01:00', '2026-1a-26T10:00:00.000Z', 'yesterday', '']) {
      expect(parseTime(time)).toBe(Date.parse(time));
    }
  });
});
