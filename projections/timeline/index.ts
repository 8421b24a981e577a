/**
 * The timeline projection: each event of an order once, as a step of its saga,
 * in a ZSET scored by event time. ZADD of the same step is idempotent and the
 * set's order (score, then member) does not depend on arrival: order-free by
 * construction, and the order document stays small.
 */
import { readModelKeys } from '../../shared/read-models.ts';
import { ORDER_EVENT_TYPES, orderIdOf, toTimelineEntry } from '../orders/evolve.ts';
import type { CounterProjection } from '../projection.ts';
import { parseTime } from '../../shared/time.ts';

/** The event types it reads (GET /api/catalog); test/catalog-consumes.test.ts holds this to what it reacts to. */
export const timelineConsumes: readonly string[] = ORDER_EVENT_TYPES;

export const timelineProjection: CounterProjection = {
  kind: 'counter',
  name: 'timeline',
  views: [],
  changes(event) {
    const orderId = orderIdOf(event);
    if (orderId === undefined) return [];
    return [{ op: 'zadd', key: readModelKeys.orderTimeline(orderId), member: JSON.stringify(toTimelineEntry(event)), score: parseTime(event.time) }];
  },
};
