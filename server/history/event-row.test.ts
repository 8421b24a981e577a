import { describe, expect, it } from 'vitest';
import type { CloudEvent } from '../../shared/cloudevent.ts';
import { EventTimeOutOfRangeError, fromEventRow, toEventRow } from './event-row.ts';

const position = { partition: 3, streamId: '1795687200000-0', acceptedAt: 1795687200123 };

const placed: CloudEvent = {
  specversion: '1.0',
  id: 'evt-1',
  source: '/shop',
  type: 'order.placed',
  time: '2026-11-26T11:00:00.250+01:00',
  dataversion: 1,
  partitionkey: 'o-1',
  subject: 'o-1',
  correlationid: 'o-1',
  traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
  region: 'eu',
  data: { orderId: 'o-1', total: 20 },
};

describe('an event as a row of the events table', () => {
  it('keeps the envelope in columns, the time in UTC with its milliseconds, and the rest as JSON', () => {
    expect(toEventRow(placed, position)).toEqual({
      id: 'evt-1',
      source: '/shop',
      type: 'order.placed',
      specversion: '1.0',
      dataversion: 1,
      time: '2026-11-26 10:00:00',
      time_unix_ms: Date.parse('2026-11-26T10:00:00.250Z'),
      subject: 'o-1',
      partitionkey: 'o-1',
      correlationid: 'o-1',
      causationid: '',
      extensions: JSON.stringify({ traceparent: placed.traceparent, region: 'eu' }),
      data: '{"orderId":"o-1","total":20}',
      stream_partition: 3,
      stream_id: '1795687200000-0',
      accepted_unix_ms: 1795687200123,
    });
  });

  it('gives back the same event (time normalised to UTC)', () => {
    expect(fromEventRow(toEventRow(placed, position))).toEqual({ ...placed, time: '2026-11-26T10:00:00.250Z' });
  });

  it('refuses a time a DateTime column cannot hold', () => {
    expect(() => toEventRow({ ...placed, time: '1969-12-31T23:59:59Z' }, position)).toThrowError(EventTimeOutOfRangeError);
  });
});
