import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { eventKey, type CloudEvent } from '../../shared/cloudevent.ts';
import { fromMoneyUnits } from '../../shared/read-models.ts';
import {
  at, inventoryAdjusted, inventoryReceived, inventoryReleased, inventoryReserved, orderCancelled, orderPlaced, paymentAuthorized,
  paymentFailed, paymentRefunded, redelivery, reservationFailed, shipmentCreated, shipmentDelivered,
} from '../../test/support/events.ts';
import { foldInventory } from '../inventory/evolve.ts';
import { foldKpi } from '../kpi/evolve.ts';
import { compareRanks, evolveOrder, rankOf, type Rank } from '../orders/evolve.ts';
import { rankText, toAnalyticRows, type AnalyticRows } from './to-rows.ts';

const none: AnalyticRows = { order_items_raw: [], inventory_movements_raw: [], kpi_minute_raw: [], orders_raw: [] };
const kpiRow = { orders_placed: 0, payments_authorized: 0, payments_failed: 0, cancellations: 0, shipments: 0, deliveries: 0, gmv_units: 0, authorized_units: 0 };
const orderRow = {
  order_id: 'o-1', stage: '', customer_id: '', channel: '', currency: '', total_units: 0, item_count: 0, placed_rank: '',
  warehouse_id: '', warehouse_rank: '', payment_failures: 0, refunded_units: 0, cancel_reason: '', cancel_rank: '',
};

describe('the analytic rows of one event', () => {
  it('an order.placed gives a row per line, its KPI share in its currency, and the order it places; no stock moves', () => {
    // given an order of two lines
    const placed = orderPlaced({
      orderId: 'o-1', warehouseId: 'w-1', customerId: 'c-1', channel: 'app', currency: 'GBP', total: 47.97,
      items: [{ sku: 'mug', qty: 2, unitPrice: 15.99 }, { sku: 'tee', qty: 1, unitPrice: 15.99 }],
    }, { time: '2026-11-26T10:15:42.250Z' });
    // when
    const rows = toAnalyticRows(placed);
    // then
    const context = { order_id: 'o-1', currency: 'GBP', warehouse_id: 'w-1', channel: 'app' };
    expect(rows.order_items_raw).toEqual([
      { ...context, line: 0, sku: 'mug', qty: 2, unit_price_units: 159_900, line_total_units: 319_800 },
      { ...context, line: 1, sku: 'tee', qty: 1, unit_price_units: 159_900, line_total_units: 159_900 },
    ]);
    expect(rows.inventory_movements_raw).toEqual([]);
    expect(rows.kpi_minute_raw).toEqual([{ ...kpiRow, minute: '2026-11-26 10:15:00', currency: 'GBP', orders_placed: 1, gmv_units: 479_700 }]);
    expect(rows.orders_raw).toEqual([{
      ...orderRow, stage: 'placed', customer_id: 'c-1', channel: 'app', currency: 'GBP', total_units: 479_700, item_count: 3,
      placed_rank: rankText(rankOf(placed)), warehouse_id: 'w-1', warehouse_rank: rankText(rankOf(placed, 0)),
    }]);
  });

  it('stock moves as the inventory read model moves it: received, adjusted, reserved, released, shipped', () => {
    const movement = (event: CloudEvent) => toAnalyticRows(event).inventory_movements_raw;
    expect(movement(inventoryReceived({ warehouseId: 'w-1', sku: 'mug', qty: 10 })))
      .toEqual([{ warehouse_id: 'w-1', sku: 'mug', on_hand_delta: 10, reserved_delta: 0, order_id: '' }]);
    expect(movement(inventoryAdjusted({ warehouseId: 'w-1', sku: 'mug', delta: -3 })))
      .toEqual([{ warehouse_id: 'w-1', sku: 'mug', on_hand_delta: -3, reserved_delta: 0, order_id: '' }]);
    expect(movement(inventoryReserved({ orderId: 'o-7', items: [{ sku: 'mug', qty: 2 }] })))
      .toEqual([{ warehouse_id: 'w-1', sku: 'mug', on_hand_delta: 0, reserved_delta: 2, order_id: 'o-7' }]);
    expect(movement(inventoryReleased({ orderId: 'o-7', items: [{ sku: 'mug', qty: 2 }] })))
      .toEqual([{ warehouse_id: 'w-1', sku: 'mug', on_hand_delta: 0, reserved_delta: -2, order_id: 'o-7' }]);
    // given a shipment naming one sku on two lines: one row, summed
    expect(movement(shipmentCreated({ orderId: 'o-7', items: [{ sku: 'tee', qty: 1 }, { sku: 'mug', qty: 1 }, { sku: 'mug', qty: 2 }] }))).toEqual([
      { warehouse_id: 'w-1', sku: 'mug', on_hand_delta: -3, reserved_delta: -3, order_id: 'o-7' },
      { warehouse_id: 'w-1', sku: 'tee', on_hand_delta: -1, reserved_delta: -1, order_id: 'o-7' },
    ]);
    expect(movement(reservationFailed())).toEqual([]);
  });

  it('a KPI share goes to the minute of the event time, in the currency of the event, or to currency "" without one', () => {
    const kpi = (event: CloudEvent) => toAnalyticRows(event).kpi_minute_raw;
    const time = '2026-11-26T23:59:59.999Z';
    expect(kpi(paymentAuthorized({ amount: 19.99, currency: 'EUR' }, { time })))
      .toEqual([{ ...kpiRow, minute: '2026-11-26 23:59:00', currency: 'EUR', payments_authorized: 1, authorized_units: 199_900 }]);
    // a failed payment carries no money, but its currency: failure rates per currency stay possible
    expect(kpi(paymentFailed({ currency: 'GBP' }, { time }))).toEqual([{ ...kpiRow, minute: '2026-11-26 23:59:00', currency: 'GBP', payments_failed: 1 }]);
    expect(kpi(orderCancelled({}, { time }))).toEqual([{ ...kpiRow, minute: '2026-11-26 23:59:00', currency: '', cancellations: 1 }]);
    expect(kpi(shipmentCreated({}, { time }))).toEqual([{ ...kpiRow, minute: '2026-11-26 23:59:00', currency: '', shipments: 1 }]);
    expect(kpi(shipmentDelivered({}, { time }))).toEqual([{ ...kpiRow, minute: '2026-11-26 23:59:00', currency: '', deliveries: 1 }]);
    // a refund counts for no KPI of DESIGN.md section 4
    expect(kpi(paymentRefunded())).toEqual([]);
  });

  it('an order event other than order.placed claims only what it says about the order', () => {
    const orders = (event: CloudEvent) => toAnalyticRows(event).orders_raw;
    const reserved = inventoryReserved({ orderId: 'o-1', warehouseId: 'w-2' });
    expect(orders(reserved)).toEqual([{ ...orderRow, stage: 'reserved', warehouse_id: 'w-2', warehouse_rank: rankText(rankOf(reserved, 1)) }]);
    expect(orders(paymentFailed())).toEqual([{ ...orderRow, payment_failures: 1 }]);
    expect(orders(paymentRefunded({ amount: 4.5 }))).toEqual([{ ...orderRow, refunded_units: 45_000 }]);
    const cancelled = orderCancelled({ reason: 'customer asked' });
    expect(orders(cancelled)).toEqual([{ ...orderRow, stage: 'cancelled', cancel_reason: 'customer asked', cancel_rank: rankText(rankOf(cancelled)) }]);
    expect(orders(shipmentDelivered())).toEqual([{ ...orderRow, stage: 'delivered' }]);
  });

  it('an event of no order, and a type EventDeck does not know, give no order rows', () => {
    expect(toAnalyticRows(inventoryReceived()).orders_raw).toEqual([]);
    const custom = { ...orderPlaced(), type: 'loyalty.points_earned', data: { orderId: 'o-1', points: 5 } };
    expect(toAnalyticRows(custom)).toEqual(none);
  });

  it('is pure: a redelivered copy gives equal rows', () => {
    const event = orderPlaced();
    expect(toAnalyticRows(redelivery(event))).toEqual(toAnalyticRows(event));
  });
});

describe('merging the rows of many events as the views do', () => {
  // A day of events in a few shapes, some delivered twice; times written three ways.
  const events: CloudEvent[] = [
    inventoryReceived({ warehouseId: 'w-1', sku: 'sku-1', qty: 50 }, { time: at(0) }),
    inventoryAdjusted({ warehouseId: 'w-1', sku: 'sku-1', delta: -4 }, { time: at(5) }),
    orderPlaced({ orderId: 'o-1', total: 20 }, { time: at(10) }),
    inventoryReserved({ orderId: 'o-1' }, { time: at(11) }),
    paymentAuthorized({ orderId: 'o-1', amount: 20 }, { time: at(70) }),
    shipmentCreated({ orderId: 'o-1' }, { time: at(75) }),
    orderPlaced({ orderId: 'o-2', currency: 'GBP', total: 9.99 }, { time: at(80) }),
    paymentFailed({ orderId: 'o-2', currency: 'GBP' }, { time: at(81) }),
    inventoryReleased({ orderId: 'o-2' }, { time: at(82) }),
    orderCancelled({ orderId: 'o-2' }, { time: at(83) }),
  ];
  const deliveries = [...events, redelivery(events[2]!), redelivery(events[5]!)];
  const distinct = [...new Map(deliveries.map((e) => [eventKey(e), e])).values()];

  it('inventory movements of the distinct events sum to the inventory read model', () => {
    const sums = new Map<string, { warehouseId: string; sku: string; onHand: number; reserved: number }>();
    for (const row of distinct.flatMap((e) => toAnalyticRows(e).inventory_movements_raw)) {
      const key = `${row.warehouse_id}|${row.sku}`;
      const sum = sums.get(key) ?? { warehouseId: row.warehouse_id, sku: row.sku, onHand: 0, reserved: 0 };
      sums.set(key, { ...sum, onHand: sum.onHand + row.on_hand_delta, reserved: sum.reserved + row.reserved_delta });
    }
    expect([...sums.values()]).toEqual(foldInventory(deliveries));
  });

  it('KPI shares of the distinct events, summed per minute over currencies, give the KPI read model', () => {
    const byMinute = new Map<string, Record<string, number>>();
    for (const row of distinct.flatMap((e) => toAnalyticRows(e).kpi_minute_raw)) {
      const sum = byMinute.get(row.minute) ?? {};
      for (const column of ['orders_placed', 'payments_authorized', 'payments_failed', 'cancellations', 'shipments', 'deliveries'] as const) {
        sum[column] = (sum[column] ?? 0) + row[column];
      }
      if (row.orders_placed > 0) sum[`gmv ${row.currency}`] = (sum[`gmv ${row.currency}`] ?? 0) + row.gmv_units;
      if (row.payments_authorized > 0) sum[`auth ${row.currency}`] = (sum[`auth ${row.currency}`] ?? 0) + row.authorized_units;
      byMinute.set(row.minute, sum);
    }
    const expected = foldKpi(deliveries).map((kpi) => [kpi.minute.slice(0, 19).replace('T', ' '), kpi] as const);
    expect([...byMinute.keys()]).toEqual(expected.map(([minute]) => minute));
    for (const [minute, kpi] of expected) {
      const sum = byMinute.get(minute)!;
      expect(sum).toMatchObject({
        orders_placed: kpi.ordersPlaced, payments_authorized: kpi.paymentsAuthorized, payments_failed: kpi.paymentsFailed,
        cancellations: kpi.cancellations, shipments: kpi.shipments, deliveries: kpi.deliveries,
      });
      for (const [currency, amount] of Object.entries(kpi.gmv)) expect(fromMoneyUnits(sum[`gmv ${currency}`]!)).toBe(amount);
      for (const [currency, amount] of Object.entries(kpi.authorizedAmount)) expect(fromMoneyUnits(sum[`auth ${currency}`]!)).toBe(amount);
    }
  });

  it('the earliest order.placed by rank gives the order fields, as in the read model, even when its copies differ only in how the time is written', () => {
    // given two distinct order.placed of one order at one instant, written two ways, and a reservation before both
    const first = orderPlaced({ orderId: 'o-9', customerId: 'c-a', total: 1 }, { time: '2026-11-26T10:00:00.000Z' });
    const second = orderPlaced({ orderId: 'o-9', customerId: 'c-b', total: 2 }, { time: '2026-11-26T10:00:00Z' });
    const reserved = inventoryReserved({ orderId: 'o-9', warehouseId: 'w-early' }, { time: '2026-11-26T09:59:00Z' });
    const fold = [first, second].reduce((s, e) => evolveOrder(s, e), evolveOrder(undefined, reserved));
    // when the view takes the argMin of the ranks
    const shares = [reserved, first, second].flatMap((e) => toAnalyticRows(e).orders_raw);
    const argMin = <K extends keyof (typeof shares)[number]>(rank: 'placed_rank' | 'warehouse_rank', column: K) =>
      shares.filter((s) => s[rank] !== '').sort((a, b) => (a[rank] < b[rank] ? -1 : 1))[0]![column];
    // then it picks what evolveOrder picked
    expect(argMin('placed_rank', 'customer_id')).toBe(fold.customerId);
    expect(argMin('placed_rank', 'total_units')).toBe(fold.total! * 10_000);
    expect(argMin('warehouse_rank', 'warehouse_id')).toBe(fold.warehouseId);
  });
});

describe('a rank as text', () => {
  const instant = fc.integer({ min: 0, max: 4_000_000_000_000 });
  const timeArb = fc.tuple(instant, fc.constantFrom('millis', 'seconds', 'offset')).map(([ms, style]) => {
    const iso = new Date(Math.floor(ms / 1000) * 1000 + (style === 'millis' ? ms % 1000 : 0)).toISOString();
    if (style === 'millis') return iso;
    if (style === 'seconds') return iso.replace('.000Z', 'Z');
    return iso.replace('Z', '+00:00');
  });
  const rankArb: fc.Arbitrary<Rank> = fc.record({
    tier: fc.constantFrom(0, 1),
    time: timeArb,
    key: fc.tuple(fc.string({ minLength: 1, maxLength: 12 }), fc.string({ minLength: 1, maxLength: 12 }))
      .map(([source, id]) => eventKey({ source, id })),
  });

  it('sorts as compareRanks does, so ClickHouse argMin picks the event the orders projection picks', () => {
    fc.assert(fc.property(rankArb, rankArb, (a, b) => {
      const byText = rankText(a) < rankText(b) ? -1 : rankText(a) > rankText(b) ? 1 : 0;
      expect(byText).toBe(Math.sign(compareRanks(a, b)));
    }), { numRuns: 1000 });
  });

  it('is empty when there is no rank', () => {
    expect(rankText(null)).toBe('');
  });
});
