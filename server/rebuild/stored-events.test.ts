/** The rebuild's row conversion agrees with the event store's own (fromEventRow). */
import { describe, expect, it } from 'vitest';
import { distinct, recentFlows } from '../../test/support/flows.ts';
import { inventoryReceived, orderPlaced } from '../../test/support/events.ts';
import { fromEventRow, toEventRow } from '../history/event-row.ts';
import { eventOfRow } from './stored-events.ts';

describe('eventOfRow', () => {
  it('gives what fromEventRow gives, attribute order included', () => {
    const events = [
      ...distinct(recentFlows(20, 3, Date.parse('2026-11-26T12:00:00Z'))),
      orderPlaced({ orderId: 'o-1' }, { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', dataschema: 'urn:x' }),
      inventoryReceived({ warehouseId: 'w', sku: 's', qty: 1 }, { causationid: 'c-1', time: '2026-11-26T10:00:00.123+01:00' }),
    ];
    for (const event of events) {
      const row = toEventRow(event, { partition: 1, streamId: '1-1', acceptedAt: 1 });
      const converted = eventOfRow(row);
      expect(converted).toEqual(fromEventRow(row));
      expect(Object.keys(converted)).toEqual(Object.keys(fromEventRow(row)));
    }
  });
});
