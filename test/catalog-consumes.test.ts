/**
 * The event types each projection declares it consumes (shown by GET /api/catalog)
 * are exactly the built-in types it reacts to: a keyed projection keys the event
 * to an aggregate, a counter projection makes changes from it.
 */
import { describe, expect, it } from 'vitest';
import { builtInProjections, consumedTypes } from '../projections/index.ts';
import type { Projection } from '../projections/projection.ts';
import type { CloudEvent } from '../shared/cloudevent.ts';
import { orderFulfilmentTypes } from '../shared/event-types/order-fulfilment.ts';
import * as events from './support/events.ts';

/** One valid event of each built-in type. */
const samples: CloudEvent[] = [
  events.orderPlaced(), events.inventoryReserved(), events.reservationFailed(), events.inventoryReleased(),
  events.paymentAuthorized(), events.paymentFailed(), events.paymentRefunded(), events.orderCancelled(),
  events.shipmentCreated(), events.shipmentDelivered(), events.inventoryReceived(), events.inventoryAdjusted(),
];

const reactsTo = (projection: Projection, event: CloudEvent): boolean =>
  projection.kind === 'keyed' ? projection.keyOf(event) !== undefined : projection.changes(event).length > 0;

describe('what each projection consumes', () => {
  it('has a sample of every built-in type', () => {
    expect(samples.map((e) => e.type).sort()).toEqual(orderFulfilmentTypes.map((t) => t.type).sort());
  });

  for (const projection of builtInProjections) {
    it(`declares for ${projection.name} exactly the types it reacts to`, () => {
      const reacted = samples.filter((event) => reactsTo(projection, event)).map((e) => e.type).sort();
      expect(reacted.length).toBeGreaterThan(0);
      expect([...(consumedTypes[projection.name] ?? [])].sort()).toEqual(reacted);
    });
  }

  it('declares for no projection that is not registered', () => {
    expect(Object.keys(consumedTypes).sort()).toEqual(builtInProjections.map((p) => p.name).sort());
  });
});
