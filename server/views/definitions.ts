/**
 * The views: each one's filter (validated from query parameters or a live
 * subscription) and how to read its state. REST and the live hub both read here.
 */
import type { z } from 'zod';
import { readModelKeys } from '../../shared/read-models.ts';
import type { PipelineState } from '../../shared/pipeline.ts';
import type { ViewName, ViewSnapshot } from '../../shared/views.ts';
import type { Config } from '../config.ts';
import { alertsFilter, readAlerts } from '../alerts/alerts-view.ts';
import { fulfilmentFilter, readFulfilment } from './fulfilment-view.ts';
import { inventoryFilter, readInventory } from './inventory-view.ts';
import { ordersFilter, readOrders } from './orders-view.ts';
import { overviewFilter, readOverview } from './overview-view.ts';
import { pipelineFilter } from '../pipeline/pipeline-view.ts';
import type { ReadModelSource } from './read-model-source.ts';

export interface ViewDeps {
  /** The live read models in Redis, or read models folded from history up to a past time. */
  source: ReadModelSource;
  config: Pick<Config, 'inventory' | 'stageLimitsMs'>;
  now: () => number;
  /** The pipeline view's reader (live only: without it, as for past states, there is no pipeline view). */
  pipeline?: (now: number) => Promise<PipelineState>;
}

export interface ViewDefinition {
  filter: z.ZodType<Record<string, unknown>>;
  read(filter: Record<string, unknown>): Promise<unknown>;
  /** Views with clock-derived fields (stuck, the last 60 minutes) are read again this often even without changes. */
  refreshMs?: number;
  /** False for views that exist only now (nothing of them is in the event store). */
  pastStates?: false;
}

export type ViewDefinitions = Record<string, ViewDefinition>;

/** How often clock-derived views are refreshed for live subscribers. */
const CLOCK_REFRESH_MS = 5_000;
/** The pipeline view's lag and ages change without any event; its charts move each second. */
const PIPELINE_REFRESH_MS = 1_000;

export function viewDefinitions({ source, config, now, pipeline }: ViewDeps): ViewDefinitions {
  return {
    overview: {
      filter: overviewFilter,
      read: () => readOverview(source, { now: now(), levels: config.inventory, limits: config.stageLimitsMs }),
      refreshMs: CLOCK_REFRESH_MS,
    },
    orders: { filter: ordersFilter, read: (f) => readOrders(source, f as z.infer<typeof ordersFilter>) },
    inventory: { filter: inventoryFilter, read: (f) => readInventory(source, f as z.infer<typeof inventoryFilter>, config.inventory) },
    fulfilment: {
      filter: fulfilmentFilter,
      read: (f) => readFulfilment(source, f as z.infer<typeof fulfilmentFilter>, config.stageLimitsMs, now()),
      refreshMs: CLOCK_REFRESH_MS,
    },
    alerts: { filter: alertsFilter, read: (f) => readAlerts(source, f as z.infer<typeof alertsFilter>) },
    ...(pipeline && { pipeline: { filter: pipelineFilter, read: () => pipeline(now()), refreshMs: PIPELINE_REFRESH_MS, pastStates: false } }),
  };
}

/** A view's answer. The version is read first: the state that follows is at least that new. */
export async function readSnapshot(
  source: ReadModelSource,
  view: string,
  definition: ViewDefinition,
  filter: Record<string, unknown>,
): Promise<ViewSnapshot> {
  const version = Number((await source.get(readModelKeys.viewVersion(view))) ?? 0);
  const state = await definition.read(filter);
  return { view: view as ViewName, filter, version, state } as ViewSnapshot;
}
