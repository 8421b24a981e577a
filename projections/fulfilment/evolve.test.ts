import { describe, expect, it } from 'vitest';
import type { CloudEvent } from '../../shared/cloudevent.ts';
import { IN_FLIGHT_STAGES, readModelKeys } from '../../shared/read-models.ts';
import {
  at, inventoryReceived, inventoryReleased, inventoryReserved, orderCancelled, orderPlaced, paymentAuthorized,
  paymentFailed, redelivery, shipmentCreated, shipmentDelivered,
} from '../../test/support/events.ts';
import { applyChanges, emptyReadModels, readZset, type InMemoryReadModels } from '../apply-changes.ts';
import { evolveOrder, type OrderState } from '../orders/evolve.ts';
import { evolveFulfilment, isStuck, type FulfilmentState } from './evolve.ts';
import { fulfilmentProjection } from './index.ts';

const fold = (events: CloudEvent[]): FulfilmentState => {
  const state = events.reduce<FulfilmentState | undefined>((s, e) => evolveFulfilment(s, e), undefined);
  if (!state) throw new Error('no events');
  return state;
};

/** The stage sets after the events, run through the projection one at a time as the engine does. */
function stageSetsAfter(events: CloudEvent[]): Record<string, { member: string; score: number }[]> {
  const states = new Map<string, FulfilmentState>();
  let model: InMemoryReadModels = emptyReadModels();
  for (const event of events) {
    const key = fulfilmentProjection.keyOf(event);
    if (key === undefined) continue;
    const before = states.get(key);
    const after = fulfilmentProjection.evolve(before, event);
    states.set(key, after);
    model = applyChanges(model, fulfilmentProjection.indexChanges(key, before, after));
  }
  return Object.fromEntries(IN_FLIGHT_STAGES.map((stage) => [stage, readZset(model, readModelKeys.fulfilmentStage(stage))]));
}

const LIMITS = { placed: 120_000, reserved: 300_000, paid: 1_800_000 };

describe('saga state', () => {
  it('follows an order through its stages with the same stages, status and warehouse as the order itself', () => {
    // given a compensated saga
    const events = [
      orderPlaced({ warehouseId: 'w-2' }, { time: at(0) }), inventoryReserved({ warehouseId: 'w-2' }, { time: at(1) }),
      paymentFailed({}, { time: at(2) }), inventoryReleased({ warehouseId: 'w-2' }, { time: at(3) }), orderCancelled({}, { time: at(4) }),
    ];
    // when
    const saga = fold(events);
    const order = events.reduce<OrderState | undefined>((s, e) => evolveOrder(s, e), undefined)!;
    // then
    expect(saga).toMatchObject({ orderId: 'o-1', warehouseId: 'w-2', status: 'cancelled', lastEventAt: at(4) });
    expect([saga.stages, saga.status, saga.lastEventAt, saga.warehouseId]).toEqual([order.stages, order.status, order.lastEventAt, order.warehouseId]);
  });

  it('remembers each event it folded, once', () => {
    const placed = orderPlaced();
    const saga = fold([placed, inventoryReserved(), redelivery(placed)]);
    expect(saga.seen).toHaveLength(2);
    expect(evolveFulfilment(saga, redelivery(placed))).toBe(saga);
  });

  it('delivered beats cancelled', () => {
    expect(fold([orderPlaced(), shipmentDelivered({}, { time: at(1) }), orderCancelled({}, { time: at(2) })]).status).toBe('delivered');
  });

  it('keys order-saga events by orderId and ignores stock events', () => {
    expect(fulfilmentProjection.keyOf(paymentFailed({ orderId: 'o-5' }))).toBe('o-5');
    expect(fulfilmentProjection.keyOf(inventoryReceived())).toBeUndefined();
    expect(fulfilmentProjection.stateKey('o-5')).toBe(readModelKeys.fulfilment('o-5'));
    expect(fulfilmentProjection.views).toEqual(['fulfilment', 'overview']);
  });
});

describe('in-flight stage sets', () => {
  it('a placed order waits in the placed set, scored by the time of its last event', () => {
    expect(stageSetsAfter([orderPlaced({}, { time: at(5) })])).toEqual({ placed: [{ member: 'o-1', score: Date.parse(at(5)) }], reserved: [], paid: [] });
  });

  it('an order that moves on is in exactly one stage set: the one of its status', () => {
    const sets = stageSetsAfter([orderPlaced({}, { time: at(0) }), inventoryReserved({}, { time: at(1) }), paymentAuthorized({}, { time: at(2) })]);
    expect(sets).toEqual({ placed: [], reserved: [], paid: [{ member: 'o-1', score: Date.parse(at(2)) }] });
  });

  it('an event that reaches no stage still re-scores the order in its set', () => {
    const sets = stageSetsAfter([orderPlaced({}, { time: at(0) }), inventoryReserved({}, { time: at(1) }), paymentFailed({}, { time: at(9) })]);
    expect(sets.reserved).toEqual([{ member: 'o-1', score: Date.parse(at(9)) }]);
  });

  it('a shipped, delivered or cancelled order is in no stage set', () => {
    for (const last of [shipmentCreated(), shipmentDelivered(), orderCancelled()]) {
      expect(stageSetsAfter([orderPlaced(), inventoryReserved(), last])).toEqual({ placed: [], reserved: [], paid: [] });
    }
  });

  it('an order.placed that arrives after the shipment does not bring the order back in flight', () => {
    expect(stageSetsAfter([shipmentCreated({}, { time: at(5) }), orderPlaced({}, { time: at(0) })])).toEqual({ placed: [], reserved: [], paid: [] });
  });
});

describe('stuck orders', () => {
  const now = Date.parse(at(0));
  const entry = (status: FulfilmentState['status'], secondsAgo: number) => ({ status, lastEventAt: at(-secondsAgo) });

  it('an in-flight order is stuck once no event came within its stage limit', () => {
    expect(isStuck(entry('placed', 121), now, LIMITS)).toBe(true);
    expect(isStuck(entry('reserved', 301), now, LIMITS)).toBe(true);
    expect(isStuck(entry('paid', 1801), now, LIMITS)).toBe(true);
  });

  it('is not stuck within or exactly at the limit', () => {
    expect(isStuck(entry('placed', 120), now, LIMITS)).toBe(false);
    expect(isStuck(entry('paid', 299), now, LIMITS)).toBe(false);
  });

  it('shipped, delivered and cancelled orders are never stuck', () => {
    for (const status of ['shipped', 'delivered', 'cancelled'] as const) expect(isStuck(entry(status, 1e6), now, LIMITS)).toBe(false);
  });
});
