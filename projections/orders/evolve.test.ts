import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { CloudEvent } from '../../shared/cloudevent.ts';
import { readModelKeys } from '../../shared/read-models.ts';
import {
  T0, at, inventoryAdjusted, inventoryReceived, inventoryReleased, inventoryReserved, orderCancelled, orderPlaced,
  paymentAuthorized, paymentFailed, paymentRefunded, redelivery, reservationFailed, shipmentCreated, shipmentDelivered,
} from '../../test/support/events.ts';
import { applyChanges, emptyReadModels, readHash, readZset, type InMemoryReadModels } from '../apply-changes.ts';
import { compareTimes, evolveOrder, type OrderState } from './evolve.ts';
import { ordersProjection } from './index.ts';
import { timelineProjection } from '../timeline/index.ts';

const fold = (events: CloudEvent[]): OrderState => {
  const state = events.reduce<OrderState | undefined>((s, e) => evolveOrder(s, e), undefined);
  if (!state) throw new Error('no events');
  return state;
};

/** Runs events through the projection as the engine does, one at a time, and returns the indexes. */
function indexesAfter(events: CloudEvent[]): InMemoryReadModels {
  const states = new Map<string, OrderState>();
  let model = emptyReadModels();
  for (const event of events) {
    const key = ordersProjection.keyOf(event);
    if (key === undefined) continue;
    const before = states.get(key);
    const after = ordersProjection.evolve(before, event);
    states.set(key, after);
    model = applyChanges(model, ordersProjection.indexChanges(key, before, after));
  }
  return model;
}

const members = (model: InMemoryReadModels, key: string) => readZset(model, key).map((z) => z.member);

describe('order fields', () => {
  it('an order built from order.placed carries its fields, with itemCount the sum of the quantities', () => {
    // given
    const events = [orderPlaced({
      customerId: 'c-9', warehouseId: 'w-2', channel: 'app', currency: 'USD', total: 45.5,
      items: [{ sku: 'a', qty: 2, unitPrice: 10 }, { sku: 'b', qty: 3, unitPrice: 8.5 }],
    })];
    // when
    const order = fold(events);
    // then
    expect(order).toMatchObject({
      orderId: 'o-1', customerId: 'c-9', warehouseId: 'w-2', channel: 'app', currency: 'USD', total: 45.5, itemCount: 5,
      stages: { placed: T0 }, status: 'placed', paymentFailures: 0, refunded: 0, cancelReason: null, lastEventAt: T0,
    });
  });

  it('a happy-path order is delivered, with each stage at the time of the event that reached it', () => {
    // given
    const events = [
      orderPlaced({}, { time: at(0) }), inventoryReserved({}, { time: at(1) }), paymentAuthorized({}, { time: at(2) }),
      shipmentCreated({}, { time: at(3) }), shipmentDelivered({}, { time: at(4) }),
    ];
    // when
    const order = fold(events);
    // then
    expect(order.stages).toEqual({ placed: at(0), reserved: at(1), paid: at(2), shipped: at(3), delivered: at(4) });
    expect(order.status).toBe('delivered');
    expect(order.lastEventAt).toBe(at(4));
  });

  it('an order whose payment failed twice and was then paid counts two failures and is paid', () => {
    // given
    const events = [
      orderPlaced({}, { time: at(0) }), inventoryReserved({}, { time: at(1) }),
      paymentFailed({}, { time: at(2) }), paymentFailed({ paymentId: 'p-2' }, { time: at(3) }), paymentAuthorized({ paymentId: 'p-3' }, { time: at(4) }),
    ];
    // when
    const order = fold(events);
    // then
    expect(order.paymentFailures).toBe(2);
    expect(order.status).toBe('paid');
  });

  it('a payment failure delivered twice counts once', () => {
    // given
    const failed = paymentFailed();
    const events = [orderPlaced(), failed, redelivery(failed)];
    // when
    const order = fold(events);
    // then
    expect(order.paymentFailures).toBe(1);
  });

  it('a compensated order (payment failed, stock released, order cancelled) is cancelled with its reason, and the release reaches no stage', () => {
    // given
    const events = [
      orderPlaced({}, { time: at(0) }), inventoryReserved({}, { time: at(1) }), paymentFailed({}, { time: at(2) }),
      inventoryReleased({}, { time: at(3) }), orderCancelled({ reason: 'payment declined' }, { time: at(4) }),
    ];
    // when
    const order = fold(events);
    // then
    expect(order.stages).toEqual({ placed: at(0), reserved: at(1), cancelled: at(4) });
    expect(order.status).toBe('cancelled');
    expect(order.cancelReason).toBe('payment declined');
    expect(order.seen).toHaveLength(events.length);
  });

  it('a failed reservation is part of the order (seen, lastEventAt) but reaches no stage', () => {
    // given
    const events = [orderPlaced({}, { time: at(0) }), reservationFailed({}, { time: at(5) })];
    // when
    const order = fold(events);
    // then
    expect(order.stages).toEqual({ placed: at(0) });
    expect(order.status).toBe('placed');
    expect(order.lastEventAt).toBe(at(5));
    expect(order.seen).toHaveLength(2);
  });

  it('the released stock of an order counts in lastEventAt', () => {
    // given
    const events = [orderPlaced({}, { time: at(0) }), inventoryReleased({}, { time: at(9) })];
    // when
    const order = fold(events);
    // then
    expect(order.lastEventAt).toBe(at(9));
    expect(order.status).toBe('placed');
  });

  it('refunds are summed exactly: 0.1 and 0.2 refunded make 0.3', () => {
    // given
    const events = [orderPlaced(), paymentRefunded({ amount: 0.1 }), paymentRefunded({ amount: 0.2 })];
    // when
    const order = fold(events);
    // then
    expect(order.refunded).toBe(0.3);
  });

  it('of two cancellations, the reason shown is the earliest one, whichever arrives first', () => {
    // given
    const early = orderCancelled({ reason: 'customer asked' }, { time: at(1) });
    const late = orderCancelled({ reason: 'payment failed' }, { time: at(2) });
    // when folded in either order, then
    expect(fold([orderPlaced(), late, early]).cancelReason).toBe('customer asked');
    expect(fold([orderPlaced(), early, late]).cancelReason).toBe('customer asked');
  });

  it('of two order.placed events for one order, the earliest one gives the fields, whichever arrives first', () => {
    // given
    const first = orderPlaced({ total: 10, warehouseId: 'w-1' }, { time: at(0) });
    const second = orderPlaced({ total: 99, warehouseId: 'w-2' }, { time: at(1) });
    // when folded in either order, then
    expect(fold([second, first])).toEqual(fold([first, second]));
    expect(fold([second, first])).toMatchObject({ total: 10, warehouseId: 'w-1' });
  });
});

describe('status precedence', () => {
  it('delivered beats cancelled: an order cancelled after delivery stays delivered', () => {
    // given
    const events = [orderPlaced(), shipmentCreated(), shipmentDelivered({}, { time: at(1) }), orderCancelled({}, { time: at(2) })];
    // when
    const order = fold(events);
    // then
    expect(order.status).toBe('delivered');
    expect(order.stages.cancelled).toBe(at(2));
  });

  it('cancelled beats shipped, paid and reserved', () => {
    // given
    const events = [orderPlaced(), inventoryReserved(), paymentAuthorized(), shipmentCreated(), orderCancelled()];
    // when
    const order = fold(events);
    // then
    expect(order.status).toBe('cancelled');
  });
});

describe('out-of-order and repeated deliveries', () => {
  it('events that arrive before order.placed build a partial order: placed-only fields null, warehouse from the reservation', () => {
    // given
    const events = [inventoryReserved({ warehouseId: 'w-2' }, { time: at(1) }), paymentAuthorized({}, { time: at(2) })];
    // when
    const order = fold(events);
    // then
    expect(order).toMatchObject({
      orderId: 'o-1', customerId: null, channel: null, currency: null, total: null, itemCount: 0,
      warehouseId: 'w-2', stages: { reserved: at(1), paid: at(2) }, status: 'paid',
    });
  });

  it("once order.placed arrives, its warehouse wins over the one an earlier-delivered event carried", () => {
    // given
    const events = [inventoryReserved({ warehouseId: 'w-2' }, { time: at(0) }), orderPlaced({ warehouseId: 'w-1' }, { time: at(1) })];
    // when
    const order = fold(events);
    // then
    expect(order.warehouseId).toBe('w-1');
    expect(order.customerId).toBe('c-1');
  });

  it('a stage keeps the earliest time it was reached, even when the earlier event arrives later', () => {
    // given
    const events = [orderPlaced(), paymentAuthorized({ paymentId: 'p-2' }, { time: at(50) }), paymentAuthorized({}, { time: at(10) })];
    // when
    const order = fold(events);
    // then
    expect(order.stages.paid).toBe(at(10));
  });

  it('lastEventAt is the latest event time, not the time of the last arrival', () => {
    // given
    const events = [orderPlaced({}, { time: at(0) }), shipmentCreated({}, { time: at(30) }), inventoryReserved({}, { time: at(5) })];
    // when
    const order = fold(events);
    // then
    expect(order.lastEventAt).toBe(at(30));
  });

  it('times with an offset compare as instants', () => {
    // given
    const events = [
      orderPlaced({}, { time: '2026-11-26T10:00:00Z' }),
      inventoryReserved({}, { time: '2026-11-26T10:30:00+01:00' }), // 09:30Z: earlier than it reads
      inventoryReserved({ warehouseId: 'w-1' }, { time: '2026-11-26T09:45:00Z' }),
    ];
    // when
    const order = fold(events);
    // then
    expect(order.stages.reserved).toBe('2026-11-26T10:30:00+01:00');
    expect(order.lastEventAt).toBe('2026-11-26T10:00:00Z');
  });

  it('a redelivered event changes nothing', () => {
    // given
    const placed = orderPlaced();
    const once = fold([placed, paymentRefunded()]);
    // when
    const again = evolveOrder(once, redelivery(placed));
    // then
    expect(again).toBe(once);
  });

  it('evolve leaves the state it is given as it was (the engine diffs before against after)', () => {
    // given
    const before = fold([orderPlaced()]);
    const copy = structuredClone(before);
    // when
    evolveOrder(before, paymentAuthorized());
    // then
    expect(before).toEqual(copy);
  });
});

describe('timeline', () => {
  it('holds each distinct event once, in time order, with its correlation and causation ids', () => {
    // given
    const placed = orderPlaced({}, { time: at(2), causationid: 'cart-7' });
    const failedA = paymentFailed({}, { time: at(1), id: 'a' });
    const failedB = paymentFailed({}, { time: at(0), id: 'b' });
    const events = [placed, failedA, redelivery(placed), failedB];
    // when
    const timeline = readZset(applyChanges(emptyReadModels(), events.flatMap((e) => timelineProjection.changes(e))), readModelKeys.orderTimeline('o-1'))
      .map(({ member }) => JSON.parse(member) as { id: string });
    // then
    expect(timeline.map((e) => e.id)).toEqual(['b', 'a', placed.id]);
    expect(timeline[2]).toEqual({
      id: placed.id, source: '/test', type: 'order.placed', time: at(2), data: placed.data, correlationid: 'o-1', causationid: 'cart-7',
    });
    expect(fold(events).firstEventAt).toBe(at(0));
  });

  it('tells apart events with one id from two sources', () => {
    // given
    const events = [paymentFailed({}, { id: 'x', source: '/payments-eu' }), paymentFailed({}, { id: 'x', source: '/payments-us' })];
    // when
    const order = fold(events);
    // then
    expect(order.paymentFailures).toBe(2);
  });
});

describe('keys and indexes', () => {
  it('keys the order-saga events by orderId and ignores stock events', () => {
    expect(ordersProjection.keyOf(shipmentDelivered({ orderId: 'o-7' }))).toBe('o-7');
    expect(ordersProjection.keyOf(reservationFailed({ orderId: 'o-8' }))).toBe('o-8');
    expect(ordersProjection.keyOf(inventoryReceived())).toBeUndefined();
    expect(ordersProjection.keyOf(inventoryAdjusted())).toBeUndefined();
    expect(ordersProjection.stateKey('o-7')).toBe(readModelKeys.order('o-7'));
    expect(ordersProjection.views).toEqual(['orders', 'overview']);
  });

  it('a new order is listed in recent, its status and its warehouse, by placed time, and counted', () => {
    const model = indexesAfter([orderPlaced({ warehouseId: 'w-2' }, { time: at(3) })]);
    const entry = [{ member: 'o-1', score: Date.parse(at(3)) }];
    expect(readZset(model, readModelKeys.ordersRecent)).toEqual(entry);
    expect(readZset(model, readModelKeys.ordersByStatus('placed'))).toEqual(entry);
    expect(readZset(model, readModelKeys.ordersByWarehouse('w-2'))).toEqual(entry);
    expect(readHash(model, readModelKeys.orderCounts)).toEqual({ placed: '1' });
  });

  it('an order that moves on leaves its old status set and its count moves with it', () => {
    const model = indexesAfter([orderPlaced({ orderId: 'o-1' }), orderPlaced({ orderId: 'o-2' }), paymentAuthorized({ orderId: 'o-1' })]);
    expect(members(model, readModelKeys.ordersByStatus('placed'))).toEqual(['o-2']);
    expect(members(model, readModelKeys.ordersByStatus('paid'))).toEqual(['o-1']);
    expect(readHash(model, readModelKeys.orderCounts)).toEqual({ placed: '1', paid: '1' });
  });

  it('a partial order is scored by its earliest event, then re-scored by its placed time', () => {
    const partial = indexesAfter([paymentFailed({}, { time: at(20) }), inventoryReserved({}, { time: at(10) })]);
    expect(readZset(partial, readModelKeys.ordersRecent)).toEqual([{ member: 'o-1', score: Date.parse(at(10)) }]);
    const placed = indexesAfter([paymentFailed({}, { time: at(20) }), inventoryReserved({}, { time: at(10) }), orderPlaced({}, { time: at(15) })]);
    expect(readZset(placed, readModelKeys.ordersByStatus('reserved'))).toEqual([{ member: 'o-1', score: Date.parse(at(15)) }]);
  });

  it("an order moves to order.placed's warehouse when that differs from the one an earlier event carried", () => {
    const model = indexesAfter([inventoryReserved({ warehouseId: 'w-2' }), orderPlaced({ warehouseId: 'w-1' })]);
    expect(members(model, readModelKeys.ordersByWarehouse('w-1'))).toEqual(['o-1']);
    expect(model.zsets.has(readModelKeys.ordersByWarehouse('w-2'))).toBe(false);
  });

  it('a redelivered event leaves the indexes alone', () => {
    const placed = orderPlaced();
    const state = fold([placed]);
    expect(ordersProjection.indexChanges('o-1', state, evolveOrder(state, redelivery(placed)))).toEqual([]);
  });
});

describe('compareTimes', () => {
  // The definition: by instant, then by text (one instant has several spellings).
  const byInstant = (a: string, b: string) => Math.sign(Date.parse(a) - Date.parse(b) || (a < b ? -1 : a > b ? 1 : 0));
  const instant = fc.date({ min: new Date('1971-01-01T00:00:00Z'), max: new Date('2099-12-31T23:59:59Z'), noInvalidDate: true });
  const spelling = (date: Date, how: number) => {
    const iso = date.toISOString();
    return [iso, iso.replace('Z', '+00:00'), `${iso.slice(0, 19)}Z`, iso.toLowerCase()][how]!;
  };
  const time = fc.tuple(instant, fc.integer({ min: 0, max: 3 })).map(([date, how]) => spelling(date, how));

  it('orders by instant, then by text, for every spelling of RFC 3339 times', () => {
    fc.assert(fc.property(time, time, (a, b) => {
      expect(Math.sign(compareTimes(a, b))).toBe(byInstant(a, b));
    }), { numRuns: 2000 });
  });

  it('orders one instant written several ways the same way every time', () => {
    const spellings = ['2026-11-26T10:00:00.000Z', '2026-11-26T10:00:00Z', '2026-11-26T10:00:00.000+00:00', '2026-11-26T11:00:00.000+01:00'];
    const sorted = [...spellings].sort(compareTimes);
    expect([...spellings].reverse().sort(compareTimes)).toEqual(sorted);
    expect(sorted).toEqual([...spellings].sort((a, b) => byInstant(a, b)));
  });
});
