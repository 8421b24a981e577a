/**
 * The views as clients see them, over REST (`GET /api/views/:view`) and live
 * (Socket.IO namespace `/live`): the same `{view, filter, version, state}`.
 */
import type { AlertsState } from './alerts.ts';
import type { PipelineState } from './pipeline.ts';
import type { InFlightStage, InventoryRow, KpiMinute, Order, OrderStatus, TimelineEntry } from './read-models.ts';

export const VIEW_NAMES = ['overview', 'orders', 'inventory', 'fulfilment', 'alerts', 'pipeline'] as const;
export type ViewName = (typeof VIEW_NAMES)[number];

/** Filters as query parameters (strings on the wire; the server parses them). */
export type ViewFilter = Record<string, string>;

export interface OrdersState {
  /** Newest placed first. */
  orders: Order[];
  counts: Record<OrderStatus, number>;
  total: number;
}

export interface InventoryState {
  /** Sorted by warehouse, then sku. */
  rows: InventoryRow[];
}

export interface InFlightOrder {
  orderId: string;
  warehouseId: string | null;
  stage: InFlightStage;
  /** Event time of the order's last event. */
  lastEventAt: string;
  waitingMs: number;
  limitMs: number;
  stuck: boolean;
}

export interface FulfilmentState {
  inFlight: Record<InFlightStage, number>;
  stuck: number;
  /** Stuck first, then the longest waiting. */
  orders: InFlightOrder[];
}

export interface OverviewTiles {
  /** Orders placed in the current minute so far. */
  ordersPerMinute: number;
  /** Over the last 60 minutes, per currency. */
  gmv: Record<string, number>;
  /** authorized / (authorized + failed) over the last 60 minutes; null with no payments. */
  paymentSuccessRate: number | null;
  inFlight: number;
  stuck: number;
  lowStock: number;
  /** Alerts firing and not yet acknowledged. */
  firingAlerts: number;
}

export interface OverviewState {
  tiles: OverviewTiles;
  /** One entry per minute, oldest first, the current minute last (empty minutes included). */
  minutes: KpiMinute[];
}

export interface ViewStates {
  overview: OverviewState;
  orders: OrdersState;
  inventory: InventoryState;
  fulfilment: FulfilmentState;
  alerts: AlertsState;
  pipeline: PipelineState;
}

/** One view's answer: REST body, subscribe ack payload and live update alike. */
export interface ViewSnapshot<V extends ViewName = ViewName> {
  view: V;
  filter: Record<string, unknown>;
  /** Grows with each change of the view; a client that sees a gap asks for a fresh snapshot. */
  version: number;
  state: ViewStates[V];
}

/** GET /api/orders/:orderId */
export interface OrderDetail {
  order: Order;
  timeline: TimelineEntry[];
}
