/**
 * The fulfilment projection: per-order saga state, and one sorted set per
 * in-flight stage (score: time of the order's last event), so "stuck" is a
 * range query on the oldest scores.
 */
import { readModelKeys } from '../../shared/read-models.ts';
import { ORDER_EVENT_TYPES, orderIdOf } from '../orders/evolve.ts';
import type { Change, KeyedProjection } from '../projection.ts';
import { evolveFulfilment, isInFlight, type FulfilmentState } from './evolve.ts';
import { parseTime } from '../../shared/time.ts';

/** The event types it reads (GET /api/catalog); test/catalog-consumes.test.ts holds this to what it reacts to. */
export const fulfilmentConsumes: readonly string[] = ORDER_EVENT_TYPES;

/** Keeps the order in exactly one in-flight stage set while in flight, and in none after. */
export function fulfilmentIndexChanges(orderId: string, before: FulfilmentState | undefined, after: FulfilmentState): Change[] {
  const changes: Change[] = [];
  if (before !== undefined && isInFlight(before.status) && before.status !== after.status) {
    changes.push({ op: 'zrem', key: readModelKeys.fulfilmentStage(before.status), member: orderId });
  }
  const moved = before === undefined || before.status !== after.status || before.lastEventAt !== after.lastEventAt;
  if (isInFlight(after.status) && moved) {
    changes.push({ op: 'zadd', key: readModelKeys.fulfilmentStage(after.status), member: orderId, score: parseTime(after.lastEventAt) });
  }
  return changes;
}

export const fulfilmentProjection: KeyedProjection<FulfilmentState> = {
  kind: 'keyed',
  name: 'fulfilment',
  views: ['fulfilment', 'overview'],
  keyOf: orderIdOf,
  stateKey: readModelKeys.fulfilment,
  evolve: evolveFulfilment,
  indexChanges: fulfilmentIndexChanges,
};
