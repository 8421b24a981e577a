/** The built-in projections: the one place they are registered. */
import { fulfilmentConsumes, fulfilmentProjection } from './fulfilment/index.ts';
import { inventoryConsumes, inventoryProjection } from './inventory/index.ts';
import { kpiConsumes, kpiProjection } from './kpi/index.ts';
import { timelineConsumes, timelineProjection } from './timeline/index.ts';
import { ordersConsumes, ordersProjection } from './orders/index.ts';
import type { Projection } from './projection.ts';

export const builtInProjections: Projection[] = [ordersProjection, timelineProjection, inventoryProjection, kpiProjection, fulfilmentProjection];

/** The event types each built-in projection reads, by projection name (the event catalog shows them). */
export const consumedTypes: Readonly<Record<string, readonly string[]>> = {
  [ordersProjection.name]: ordersConsumes,
  [timelineProjection.name]: timelineConsumes,
  [inventoryProjection.name]: inventoryConsumes,
  [kpiProjection.name]: kpiConsumes,
  [fulfilmentProjection.name]: fulfilmentConsumes,
};
