/**
 * The read models as the outside world sees them (DESIGN.md section 4), and the
 * Redis keys where projections keep them. Projections write these keys; the
 * server reads them; neither imports the other.
 */
import { KEY_PREFIX } from './streams.ts';
import { parseTime } from './time.ts';

export const ORDER_STAGES = ['placed', 'reserved', 'paid', 'shipped', 'delivered', 'cancelled'] as const;
export type OrderStage = (typeof ORDER_STAGES)[number];
export type OrderStatus = OrderStage;

/** The stages an in-flight order can wait in (DESIGN.md section 4, Fulfilment). */
export const IN_FLIGHT_STAGES = ['placed', 'reserved', 'paid'] as const;
export type InFlightStage = (typeof IN_FLIGHT_STAGES)[number];

/** One order. Fields the order.placed event brings are null until it arrives. */
export interface Order {
  orderId: string;
  customerId: string | null;
  warehouseId: string | null;
  channel: string | null;
  currency: string | null;
  total: number | null;
  /** Sum of qty over the placed items. */
  itemCount: number;
  /** Event time (RFC 3339) at which each stage was first reached. */
  stages: Partial<Record<OrderStage, string>>;
  status: OrderStatus;
  paymentFailures: number;
  refunded: number;
  cancelReason: string | null;
  lastEventAt: string;
}

/** One step of an order's saga, as shown in its timeline. */
export interface TimelineEntry {
  id: string;
  source: string;
  type: string;
  time: string;
  data: Record<string, unknown>;
  correlationid?: string;
  causationid?: string;
}

export interface InventoryRow {
  warehouseId: string;
  sku: string;
  onHand: number;
  reserved: number;
  available: number;
  lowStock: boolean;
}

/** KPIs of one UTC minute of event time; money per currency. */
export interface KpiMinute {
  /** Start of the minute, RFC 3339 UTC, e.g. "2026-11-26T10:15:00.000Z". */
  minute: string;
  ordersPlaced: number;
  gmv: Record<string, number>;
  paymentsAuthorized: number;
  paymentsFailed: number;
  authorizedAmount: Record<string, number>;
  cancellations: number;
  shipments: number;
  deliveries: number;
}

/**
 * Status from stages: delivered if reached; else cancelled if reached; else
 * the furthest of shipped > paid > reserved > placed.
 */
export function orderStatus(stages: Partial<Record<OrderStage, string>>): OrderStatus {
  if (stages.delivered) return 'delivered';
  if (stages.cancelled) return 'cancelled';
  if (stages.shipped) return 'shipped';
  if (stages.paid) return 'paid';
  if (stages.reserved) return 'reserved';
  return 'placed';
}

/** An inventory row with its derived fields. */
export function inventoryRow(
  stored: { warehouseId: string; sku: string; onHand: number; reserved: number },
  reorderLevel: number,
): InventoryRow {
  const available = stored.onHand - stored.reserved;
  return { ...stored, available, lowStock: available < reorderLevel };
}

/**
 * Money is summed as integers of 1/10,000 of a unit, so that sums are exact
 * and the same in any order (floating-point addition is not associative).
 */
export const MONEY_SCALE = 10_000;
export const toMoneyUnits = (amount: number): number => Math.round(amount * MONEY_SCALE);
export const fromMoneyUnits = (units: number): number => units / MONEY_SCALE;

/** The start of the UTC minute of an event time, as RFC 3339. */
export function minuteOf(time: string): string {
  const ms = parseTime(time);
  return new Date(ms - (((ms % 60_000) + 60_000) % 60_000)).toISOString();
}

const RM = `${KEY_PREFIX}:rm`;

/** Redis keys of the read models. */
export const readModelKeys = {
  /** JSON of one order's stored state (Order + bookkeeping). */
  order: (orderId: string) => `${RM}:order:${orderId}`,
  /** ZSET of one order's timeline entries (JSON), scored by event time (ms). */
  orderTimeline: (orderId: string) => `${RM}:order:${orderId}:timeline`,
  /** ZSET orderId → placed time (ms); the newest orders first. */
  ordersRecent: `${RM}:orders:recent`,
  /** ZSET per status, orderId → placed time (ms). */
  ordersByStatus: (status: OrderStatus) => `${RM}:orders:status:${status}`,
  /** ZSET per warehouse, orderId → placed time (ms). */
  ordersByWarehouse: (warehouseId: string) => `${RM}:orders:warehouse:${warehouseId}`,
  /** HASH status → count of orders. */
  orderCounts: `${RM}:orders:counts`,
  /** HASH per warehouse: "<sku>|onHand" and "<sku>|reserved" → integer. */
  inventory: (warehouseId: string) => `${RM}:inventory:${warehouseId}`,
  /** SET of warehouse ids that have inventory rows. */
  inventoryWarehouses: `${RM}:inventory:warehouses`,
  /** HASH per minute: KPI field → integer (money fields scaled by MONEY_SCALE). */
  kpiMinute: (minute: string) => `${RM}:kpi:${minute}`,
  /** ZSET minute → minute start (ms). */
  kpiMinutes: `${RM}:kpi:minutes`,
  /** JSON of one in-flight order's fulfilment state. */
  fulfilment: (orderId: string) => `${RM}:fulfilment:${orderId}`,
  /** ZSET per in-flight stage, orderId → time of its last event (ms). */
  fulfilmentStage: (stage: InFlightStage) => `${RM}:fulfilment:stage:${stage}`,
  /** Counter that grows with each change of a view. */
  viewVersion: (view: string) => `${KEY_PREFIX}:view-version:${view}`,
} as const;

/** Pub/sub channel on which projections announce changed views (message: the view name). */
export const VIEW_CHANGED_CHANNEL = `${KEY_PREFIX}:view-changed`;

/** Field of a warehouse's inventory hash: "<sku>|onHand" or "<sku>|reserved". */
export const inventoryField = (sku: string, measure: 'onHand' | 'reserved'): string => `${sku}|${measure}`;

/** Stored rows of one warehouse from its inventory hash (a sku may itself hold '|': split at the last). */
export function parseInventoryHash(
  warehouseId: string,
  hash: Record<string, string>,
): Array<{ warehouseId: string; sku: string; onHand: number; reserved: number }> {
  const rows = new Map<string, { warehouseId: string; sku: string; onHand: number; reserved: number }>();
  for (const [field, value] of Object.entries(hash)) {
    const cut = field.lastIndexOf('|');
    const sku = field.slice(0, cut);
    const measure = field.slice(cut + 1);
    if (measure !== 'onHand' && measure !== 'reserved') continue;
    let row = rows.get(sku);
    if (!row) rows.set(sku, (row = { warehouseId, sku, onHand: 0, reserved: 0 }));
    row[measure] = Number(value);
  }
  return [...rows.values()];
}

/** Counting fields of a KPI minute hash; money fields are "<name>:<CURRENCY>" in MONEY_SCALE units. */
export const KPI_COUNT_FIELDS = [
  'ordersPlaced', 'paymentsAuthorized', 'paymentsFailed', 'cancellations', 'shipments', 'deliveries',
] as const;
export const KPI_MONEY_FIELDS = ['gmv', 'authorizedAmount'] as const;

export function emptyKpiMinute(minute: string): KpiMinute {
  return {
    minute, ordersPlaced: 0, gmv: {}, paymentsAuthorized: 0, paymentsFailed: 0,
    authorizedAmount: {}, cancellations: 0, shipments: 0, deliveries: 0,
  };
}

/** A KPI minute from its Redis hash. */
export function parseKpiHash(minute: string, hash: Record<string, string>): KpiMinute {
  const kpi = emptyKpiMinute(minute);
  for (const [field, value] of Object.entries(hash)) {
    const [name, currency] = field.split(':') as [string, string | undefined];
    if ((KPI_MONEY_FIELDS as readonly string[]).includes(name) && currency) {
      kpi[name as (typeof KPI_MONEY_FIELDS)[number]][currency] = fromMoneyUnits(Number(value));
    } else if ((KPI_COUNT_FIELDS as readonly string[]).includes(name)) {
      kpi[name as (typeof KPI_COUNT_FIELDS)[number]] = Number(value);
    }
  }
  return kpi;
}

/**
 * One family of a projection's Redis keys: a glob (Redis MATCH syntax) and the
 * Redis types its keys have. Together a projection's patterns find every key it
 * writes and no key of another projection, so a rebuild can replace them whole
 * (`orders` and `timeline` share the `order:` prefix and are told apart by type).
 */
export interface ReadModelKeyPattern {
  match: string;
  types: ReadonlyArray<'string' | 'hash' | 'zset' | 'set'>;
}

/** The key patterns of each built-in projection, by projection name (the keys above, as globs). */
export const readModelKeyPatterns: Readonly<Record<string, readonly ReadModelKeyPattern[]>> = {
  orders: [
    { match: `${RM}:order:*`, types: ['string'] },
    { match: `${RM}:orders:*`, types: ['zset', 'hash'] },
  ],
  timeline: [{ match: `${RM}:order:*:timeline`, types: ['zset'] }],
  inventory: [{ match: `${RM}:inventory:*`, types: ['hash', 'set'] }],
  kpi: [{ match: `${RM}:kpi:*`, types: ['hash', 'zset'] }],
  fulfilment: [{ match: `${RM}:fulfilment:*`, types: ['string', 'zset'] }],
};

const REBUILD = `${KEY_PREFIX}:rebuild`;

/** Redis keys of projection rebuilds (POST /api/projections/:name/rebuild). */
export const rebuildKeys = {
  /** JSON RebuildStatus of the projection's last rebuild. */
  status: (projection: string) => `${REBUILD}:${projection}`,
  /** Held (with a TTL, renewed) by the process running the projection's rebuild: one at a time. */
  lock: (projection: string) => `${REBUILD}:${projection}:lock`,
  /** Prefix of the new read model's keys while it is built: `<prefix><live key>`. */
  stagePrefix: (projection: string) => `${REBUILD}:${projection}:stage:`,
  /** SET of the staged keys (their staged names). */
  staged: (projection: string) => `${REBUILD}:${projection}:staged`,
  /** SET of the live keys the switch removes (found by the projection's key patterns). */
  replaced: (projection: string) => `${REBUILD}:${projection}:replaced`,
} as const;

/** Where a rebuild is: `running` until the new read model is live (`done`) or it gave up (`failed`). */
export type RebuildState = 'running' | 'done' | 'failed';

/** A projection rebuild as `GET /api/projections/:name/rebuild` answers it. */
export interface RebuildStatus {
  projection: string;
  state: RebuildState;
  /** While running: reading the event store, then the streams, then writing the new model, then switching. */
  phase?: 'history' | 'streams' | 'staging' | 'switching';
  /**
   * Events folded so far, of `total`. While the event store is read, `total` counts its rows (copies of an
   * event not merged yet count apiece); then it is exact, and grows with what the streams add.
   */
  done: number;
  total: number;
  /** Events the projection threw on, left out (the live projector dead-letters them). */
  skipped: number;
  /** RFC 3339. */
  startedAt: string;
  finishedAt?: string;
  error?: { code: string; message: string };
}
