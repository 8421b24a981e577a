/**
 * The orders projection: one JSON document per order, plus the indexes the
 * orders view lists from (recent, by status, by warehouse, counts by status).
 */
import { readModelKeys } from '../../shared/read-models.ts';
import type { Change, KeyedProjection } from '../projection.ts';
import { ORDER_EVENT_TYPES, evolveOrder, orderIdOf, type OrderState } from './evolve.ts';
import { parseTime } from '../../shared/time.ts';

/** The event types it reads (GET /api/catalog); test/catalog-consumes.test.ts holds this to what it reacts to. */
export const ordersConsumes: readonly string[] = ORDER_EVENT_TYPES;

/** Index score: when the order was placed, or its earliest known event until order.placed arrives. */
export function orderScore(order: OrderState): number {
  return parseTime(order.stages.placed ?? order.firstEventAt);
}

/**
 * Index upkeep as a diff of before → after, so applying it over any sequence
 * of transitions leaves the indexes describing the final state only.
 */
export function orderIndexChanges(orderId: string, before: OrderState | undefined, after: OrderState): Change[] {
  const changes: Change[] = [];
  const score = orderScore(after);
  const scoreChanged = before === undefined || orderScore(before) !== score;
  const statusChanged = before === undefined || before.status !== after.status;
  const warehouseChanged = before?.warehouseId !== after.warehouseId;
  const zadd = (key: string): Change => ({ op: 'zadd', key, member: orderId, score });

  if (scoreChanged) changes.push(zadd(readModelKeys.ordersRecent));

  if (before !== undefined && statusChanged) {
    changes.push({ op: 'zrem', key: readModelKeys.ordersByStatus(before.status), member: orderId });
  }
  if (scoreChanged || statusChanged) changes.push(zadd(readModelKeys.ordersByStatus(after.status)));

  if (before?.warehouseId && warehouseChanged) {
    changes.push({ op: 'zrem', key: readModelKeys.ordersByWarehouse(before.warehouseId), member: orderId });
  }
  if (after.warehouseId && (scoreChanged || warehouseChanged)) {
    changes.push(zadd(readModelKeys.ordersByWarehouse(after.warehouseId)));
  }

  if (statusChanged) {
    changes.push({ op: 'hincr', key: readModelKeys.orderCounts, field: after.status, by: 1 });
    if (before !== undefined) changes.push({ op: 'hincr', key: readModelKeys.orderCounts, field: before.status, by: -1 });
  }
  return changes;
}

export const ordersProjection: KeyedProjection<OrderState> = {
  kind: 'keyed',
  name: 'orders',
  views: ['orders', 'overview'],
  keyOf: orderIdOf,
  stateKey: readModelKeys.order,
  evolve: evolveOrder,
  indexChanges: orderIndexChanges,
};
