/**
 * KPIs per UTC minute of event time (DESIGN.md section 4, KPIs). Each event
 * contributes to the minute it belongs to, so a late event corrects that
 * minute; contributions are sums, so the order of arrival does not matter.
 */
import { eventKey, type CloudEvent } from '../../shared/cloudevent.ts';
import type { DomainEvents } from '../../shared/domain.ts';
import { KPI_COUNT_FIELDS, emptyKpiMinute, fromMoneyUnits, minuteOf, toMoneyUnits, type KpiMinute } from '../../shared/read-models.ts';

type KpiCount = (typeof KPI_COUNT_FIELDS)[number];

/** The count each event type adds one to. */
const COUNTED_BY: Readonly<Partial<Record<string, KpiCount>>> = {
  'order.placed': 'ordersPlaced',
  'payment.authorized': 'paymentsAuthorized',
  'payment.failed': 'paymentsFailed',
  'order.cancelled': 'cancellations',
  'shipment.created': 'shipments',
  'shipment.delivered': 'deliveries',
};

/** One event's share of its minute, or undefined for events that count for no KPI. */
export function kpiContribution(event: CloudEvent): KpiMinute | undefined {
  const count = COUNTED_BY[event.type];
  if (count === undefined) return undefined;
  const kpi = emptyKpiMinute(minuteOf(event.time));
  kpi[count] = 1;
  if (event.type === 'order.placed') {
    const { currency, total } = event.data as unknown as DomainEvents['order.placed'];
    kpi.gmv = { [currency]: total };
  } else if (event.type === 'payment.authorized') {
    const { currency, amount } = event.data as unknown as DomainEvents['payment.authorized'];
    kpi.authorizedAmount = { [currency]: amount };
  }
  return kpi;
}

/** Money per currency, summed in integer units so the sum is exact and order-free. */
function addMoney(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const sum: Record<string, number> = { ...a };
  for (const [currency, amount] of Object.entries(b)) {
    sum[currency] = fromMoneyUnits(toMoneyUnits(sum[currency] ?? 0) + toMoneyUnits(amount));
  }
  return sortedKeys(sum);
}

const sortedKeys = (record: Record<string, number>): Record<string, number> =>
  Object.fromEntries(Object.entries(record).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));

/** Two KPI records of the same minute, added. */
export function addKpi(a: KpiMinute, b: KpiMinute): KpiMinute {
  const sum: KpiMinute = { ...a, gmv: addMoney(a.gmv, b.gmv), authorizedAmount: addMoney(a.authorizedAmount, b.authorizedAmount) };
  for (const count of KPI_COUNT_FIELDS) sum[count] = a[count] + b[count];
  return sum;
}

/**
 * The KPIs after each distinct event (by source + id) once, one record per
 * minute that has any, oldest first: the reference for tests and for asOf.
 */
export function foldKpi(events: Iterable<CloudEvent>): KpiMinute[] {
  const seen = new Set<string>();
  const minutes = new Map<string, KpiMinute>();
  for (const event of events) {
    const key = eventKey(event);
    if (seen.has(key)) continue;
    seen.add(key);
    const share = kpiContribution(event);
    if (share === undefined) continue;
    minutes.set(share.minute, addKpi(minutes.get(share.minute) ?? emptyKpiMinute(share.minute), share));
  }
  return [...minutes.values()].sort((a, b) => Date.parse(a.minute) - Date.parse(b.minute));
}
