import { describe, expect, it } from 'vitest';
import type { CloudEvent } from '../../shared/cloudevent.ts';
import { emptyKpiMinute, readModelKeys } from '../../shared/read-models.ts';
import {
  inventoryReceived, inventoryReserved, orderCancelled, orderPlaced, paymentAuthorized, paymentFailed, paymentRefunded,
  redelivery, shipmentCreated, shipmentDelivered,
} from '../../test/support/events.ts';
import { applyChanges, emptyReadModels, readHash, readZset } from '../apply-changes.ts';
import { foldKpi } from './evolve.ts';
import { kpiChanges, kpiProjection, parseKpiHash } from './index.ts';

const MINUTE = '2026-11-26T10:00:00.000Z';
const inMinute = (seconds: number) => `2026-11-26T10:00:${String(seconds).padStart(2, '0')}.000Z`;

/** KPI minutes after the events' Changes, read back as the server reads them. */
function minutesViaRedis(events: CloudEvent[]) {
  const model = applyChanges(emptyReadModels(), events.flatMap(kpiChanges));
  return readZset(model, readModelKeys.kpiMinutes).map(({ member }) => parseKpiHash(member, readHash(model, readModelKeys.kpiMinute(member))));
}

describe('KPIs per UTC minute of event time', () => {
  it('a placed order counts in ordersPlaced and its total in the gmv of its currency', () => {
    // given two orders in one minute, in two currencies
    const events = [orderPlaced({ currency: 'EUR', total: 20 }, { time: inMinute(5) }), orderPlaced({ currency: 'USD', total: 7.5 }, { time: inMinute(50) })];
    // then
    const expected = { ...emptyKpiMinute(MINUTE), ordersPlaced: 2, gmv: { EUR: 20, USD: 7.5 } };
    expect(foldKpi(events)).toEqual([expected]);
    expect(minutesViaRedis(events)).toEqual([expected]);
  });

  it('counts authorized and failed payments, and the authorized amount per currency', () => {
    const events = [
      paymentAuthorized({ amount: 12.25, currency: 'EUR' }, { time: inMinute(1) }),
      paymentFailed({ amount: 99, currency: 'EUR' }, { time: inMinute(2) }), paymentFailed({}, { time: inMinute(3) }),
    ];
    expect(foldKpi(events)).toEqual([{ ...emptyKpiMinute(MINUTE), paymentsAuthorized: 1, paymentsFailed: 2, authorizedAmount: { EUR: 12.25 } }]);
  });

  it('counts cancellations, shipments and deliveries', () => {
    const events = [orderCancelled({}, { time: inMinute(1) }), shipmentCreated({}, { time: inMinute(2) }), shipmentDelivered({}, { time: inMinute(3) })];
    expect(foldKpi(events)).toEqual([{ ...emptyKpiMinute(MINUTE), cancellations: 1, shipments: 1, deliveries: 1 }]);
  });

  it('an event counts in the UTC minute of its own time, whatever its offset', () => {
    const [kpi] = foldKpi([orderPlaced({}, { time: '2026-11-26T12:15:42+02:00' })]);
    expect(kpi?.minute).toBe('2026-11-26T10:15:00.000Z');
  });

  it('a late event corrects the minute it belongs to, and minutes come oldest first', () => {
    const events = [orderPlaced({}, { time: '2026-11-26T10:05:00Z' }), orderPlaced({}, { time: '2026-11-26T10:01:30Z' })];
    expect(foldKpi(events).map((k) => [k.minute, k.ordersPlaced])).toEqual([['2026-11-26T10:01:00.000Z', 1], ['2026-11-26T10:05:00.000Z', 1]]);
    expect(minutesViaRedis(events).map((k) => k.minute)).toEqual(['2026-11-26T10:01:00.000Z', '2026-11-26T10:05:00.000Z']);
  });

  it('money is summed exactly: gmv of 0.1 and 0.2 is 0.3', () => {
    const events = [orderPlaced({ total: 0.1 }), orderPlaced({ total: 0.2 })];
    expect(foldKpi(events)[0]?.gmv).toEqual({ EUR: 0.3 });
    expect(minutesViaRedis(events)[0]?.gmv).toEqual({ EUR: 0.3 });
  });

  it('a free order shows its currency with zero gmv', () => {
    const events = [orderPlaced({ total: 0, currency: 'GBP', items: [{ sku: 'gift', qty: 1, unitPrice: 0 }] })];
    expect(minutesViaRedis(events)[0]?.gmv).toEqual({ GBP: 0 });
    expect(foldKpi(events)[0]?.gmv).toEqual({ GBP: 0 });
  });

  it('an event delivered twice counts once in the fold', () => {
    const placed = orderPlaced();
    expect(foldKpi([placed, redelivery(placed)])[0]?.ordersPlaced).toBe(1);
  });

  it('events that count for no KPI make no changes', () => {
    for (const event of [inventoryReserved(), paymentRefunded(), inventoryReceived()]) expect(kpiChanges(event)).toEqual([]);
  });
});

describe('redis changes', () => {
  it('increments the minute hash (money in units of 1/10,000) and lists the minute', () => {
    expect(kpiChanges(orderPlaced({ currency: 'EUR', total: 19.99 }, { time: inMinute(30) }))).toEqual([
      { op: 'hincr', key: readModelKeys.kpiMinute(MINUTE), field: 'ordersPlaced', by: 1 },
      { op: 'hincr', key: readModelKeys.kpiMinute(MINUTE), field: 'gmv:EUR', by: 199_900 },
      { op: 'zadd', key: readModelKeys.kpiMinutes, member: MINUTE, score: Date.parse(MINUTE) },
    ]);
    expect(kpiChanges(paymentAuthorized({ amount: 5, currency: 'USD' }, { time: inMinute(1) }))).toContainEqual(
      { op: 'hincr', key: readModelKeys.kpiMinute(MINUTE), field: 'authorizedAmount:USD', by: 50_000 },
    );
  });

  it('reads a hash back: missing counts are 0, money with no currency is {}, unknown fields are ignored', () => {
    expect(parseKpiHash(MINUTE, { paymentsFailed: '3', 'authorizedAmount:EUR': '123400', other: '1', 'x:EUR': '5' })).toEqual({
      ...emptyKpiMinute(MINUTE), paymentsFailed: 3, authorizedAmount: { EUR: 12.34 }, gmv: {},
    });
  });

  it('is a counter projection of the overview view', () => {
    expect(kpiProjection).toMatchObject({ kind: 'counter', name: 'kpi', views: ['overview'] });
  });
});
