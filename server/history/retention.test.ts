import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.ts';
import { expiredMonths } from './retention.ts';

const DAY = 86_400_000;

describe('which months of events retention drops', () => {
  const months = ['202608', '202609', '202610', '202611', '202612'];

  it('drops only months whose last instant is older than the limit', () => {
    // given a 30-day retention on 2026-12-01 00:00:00 UTC: the limit is 2026-11-01 00:00:00
    const now = Date.parse('2026-12-01T00:00:00Z');
    // then October ended exactly at the limit and goes; November does not
    expect(expiredMonths(months, now, 30)).toEqual(['202608', '202609', '202610']);
    // one millisecond earlier, October still reaches past the limit and stays
    expect(expiredMonths(months, now - 1, 30)).toEqual(['202608', '202609']);
  });

  it('keeps everything when retention is 0', () => {
    expect(expiredMonths(months, Date.parse('2030-01-01T00:00:00Z'), 0)).toEqual([]);
  });

  it('crosses year ends, sorts oldest first, and ignores names that are not months', () => {
    const now = Date.parse('2027-01-15T00:00:00Z');
    expect(expiredMonths(['202612', 'all', '202511', '202601'], now, 14)).toEqual(['202511', '202601', '202612']);
    expect(expiredMonths(['202612'], now, 15)).toEqual([]);
  });

  it('never drops a month with an event younger than the limit, whatever the day', () => {
    for (let day = 0; day < 800; day += 7) {
      const now = Date.parse('2026-01-01T12:00:00Z') + day * DAY;
      for (const month of expiredMonths(months, now, 45)) {
        const next = Date.UTC(Number(month.slice(0, 4)), Number(month.slice(4)), 1);
        expect(next).toBeLessThanOrEqual(now - 45 * DAY);
      }
    }
  });
});

describe('EVENTDECK_HISTORY_RETENTION_DAYS', () => {
  it('keeps everything by default, takes whole days, and refuses what is not a day count', () => {
    expect(loadConfig({}).history.retentionDays).toBe(0);
    expect(loadConfig({ EVENTDECK_HISTORY_RETENTION_DAYS: '400' }).history.retentionDays).toBe(400);
    expect(() => loadConfig({ EVENTDECK_HISTORY_RETENTION_DAYS: '-1' })).toThrowError(/EVENTDECK_HISTORY_RETENTION_DAYS/);
    expect(() => loadConfig({ EVENTDECK_HISTORY_RETENTION_DAYS: '1.5' })).toThrowError(/EVENTDECK_HISTORY_RETENTION_DAYS/);
  });
});
