/**
 * The KPI projection: one Redis hash per minute of integer counters (money in
 * units of 1/MONEY_SCALE, field "<kpi>:<CUR>"), and a sorted set of the minutes.
 */
import type { CloudEvent } from '../../shared/cloudevent.ts';
import { KPI_COUNT_FIELDS, KPI_MONEY_FIELDS, readModelKeys, toMoneyUnits } from '../../shared/read-models.ts';
import type { Change, CounterProjection } from '../projection.ts';
import { kpiContribution } from './evolve.ts';
import { parseTime } from '../../shared/time.ts';

/** The event types it reads (GET /api/catalog); test/catalog-consumes.test.ts holds this to what it reacts to. */
export const kpiConsumes: readonly string[] = [
  'order.placed', 'payment.authorized', 'payment.failed', 'order.cancelled', 'shipment.created', 'shipment.delivered',
];

export function kpiChanges(event: CloudEvent): Change[] {
  const share = kpiContribution(event);
  if (share === undefined) return [];
  const key = readModelKeys.kpiMinute(share.minute);
  const changes: Change[] = [];
  for (const count of KPI_COUNT_FIELDS) {
    if (share[count] !== 0) changes.push({ op: 'hincr', key, field: count, by: share[count] });
  }
  // Money is written even when zero, so a currency seen in a minute shows up with 0.
  for (const money of KPI_MONEY_FIELDS) {
    for (const [currency, amount] of Object.entries(share[money])) {
      changes.push({ op: 'hincr', key, field: `${money}:${currency}`, by: toMoneyUnits(amount) });
    }
  }
  changes.push({ op: 'zadd', key: readModelKeys.kpiMinutes, member: share.minute, score: parseTime(share.minute) });
  return changes;
}

/** Reading the hash back is the server's job too, so the one parser lives in shared/. */
export { parseKpiHash } from '../../shared/read-models.ts';

export const kpiProjection: CounterProjection = {
  kind: 'counter',
  name: 'kpi',
  views: ['overview'],
  changes: kpiChanges,
};
