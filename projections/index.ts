/** The built-in projections: the one place they are registered. */
import { fulfilmentProjection } from './fulfilment/index.ts';
import { inventoryProjection } from './inventory/index.ts';
import { kpiProjection } from './kpi/index.ts';
import { timelineProjection } from './timeline/index.ts';
import { ordersProjection } from './orders/index.ts';
import type { Projection } from './projection.ts';

export const builtInProjections: Projection[] = [ordersProjection, timelineProjection, inventoryProjection, kpiProjection, fulfilmentProjection];
