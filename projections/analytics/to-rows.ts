/**
 * One event as rows of the ClickHouse analytic tables (docs/history.md,
 * "Analytic tables"), written by the history group in the same batch as the
 * event's `events` row. Pure: the same event always gives the same rows, so a
 * batch inserted twice adds identical copies, which the tables' identity keys
 * collapse (ReplacingMergeTree) and the analysts' views count once.
 *
 * Each row holds only what this one event says; the views merge the rows of
 * many events with the read models' own rules (sums, earliest rank, first
 * stage). To keep one meaning, the per-event shares come from the live
 * projections' pure code: stock deltas (inventory), the KPI contribution, and
 * an order folded from this one event alone.
 *
 * The history writer adds the event's identity and time to every row
 * (`source`, `id`, `type`, `time`, `time_unix_ms`), exactly as in `events`.
 * Money is in integer units of 1/MONEY_SCALE, as the read models sum it; the
 * views divide.
 */
import type { CloudEvent } from '../../shared/cloudevent.ts';
import type { DomainEvents } from '../../shared/domain.ts';
import { KPI_COUNT_FIELDS, toMoneyUnits, type KpiMinute } from '../../shared/read-models.ts';
import { stockDeltas } from '../inventory/evolve.ts';
import { kpiContribution } from '../kpi/evolve.ts';
import { evolveOrder, orderIdOf, type Rank } from '../orders/evolve.ts';
import { parseTime } from '../../shared/time.ts';

/** `order_items_raw`: one row per line of an order.placed. */
export interface OrderItemRow {
  order_id: string;
  /** Position of the line in the event's items, from 0. */
  line: number;
  sku: string;
  qty: number;
  unit_price_units: number;
  /** qty × unitPrice. */
  line_total_units: number;
  currency: string;
  warehouse_id: string;
  channel: string;
}

/** `inventory_movements_raw`: one row per (warehouse, sku) whose stock the event moves. */
export interface InventoryMovementRow {
  warehouse_id: string;
  sku: string;
  on_hand_delta: number;
  reserved_delta: number;
  /** The order that moved it; '' for receipts and adjustments. */
  order_id: string;
}

type KpiCountColumn = 'orders_placed' | 'payments_authorized' | 'payments_failed' | 'cancellations' | 'shipments' | 'deliveries';

/** `kpi_minute_raw`: an event's share of its minute, in the row of its currency ('' when it has none). */
export type KpiShareRow = Record<KpiCountColumn, number> & {
  /** Start of the UTC minute of the event time, "YYYY-MM-DD hh:mm:ss". */
  minute: string;
  currency: string;
  gmv_units: number;
  authorized_units: number;
};

/**
 * `orders_raw`: the order as this one event alone would make it. A ranked
 * choice carries its rank as text ('' when the event makes no such claim), so
 * the view can take the earliest with argMin.
 */
export interface OrderShareRow {
  order_id: string;
  /** The stage this event reaches ('' for none). */
  stage: string;
  customer_id: string;
  channel: string;
  currency: string;
  total_units: number;
  item_count: number;
  /** Set only by an order.placed: its customer, channel, currency, total and items count if it ranks first. */
  placed_rank: string;
  warehouse_id: string;
  /** Set by every event that names a warehouse; an order.placed outranks the others. */
  warehouse_rank: string;
  payment_failures: number;
  refunded_units: number;
  cancel_reason: string;
  /** Set only by an order.cancelled. */
  cancel_rank: string;
}

/** Every analytic table's rows for one event (most are empty for any one event). */
export interface AnalyticRows {
  order_items_raw: OrderItemRow[];
  inventory_movements_raw: InventoryMovementRow[];
  kpi_minute_raw: KpiShareRow[];
  orders_raw: OrderShareRow[];
}

export function toAnalyticRows(event: CloudEvent): AnalyticRows {
  return {
    order_items_raw: orderItems(event),
    inventory_movements_raw: inventoryMovements(event),
    kpi_minute_raw: kpiShares(event),
    orders_raw: orderShares(event),
  };
}

function orderItems(event: CloudEvent): OrderItemRow[] {
  if (event.type !== 'order.placed') return [];
  const placed = event.data as unknown as DomainEvents['order.placed'];
  return placed.items.map((item, line) => {
    const unitPrice = toMoneyUnits(item.unitPrice);
    return {
      order_id: placed.orderId, line, sku: item.sku, qty: item.qty, unit_price_units: unitPrice, line_total_units: item.qty * unitPrice,
      currency: placed.currency, warehouse_id: placed.warehouseId, channel: placed.channel,
    };
  });
}

function inventoryMovements(event: CloudEvent): InventoryMovementRow[] {
  const orderId = orderIdOf(event) ?? '';
  return stockDeltas(event).map((delta) => ({
    warehouse_id: delta.warehouseId, sku: delta.sku, on_hand_delta: delta.onHand, reserved_delta: delta.reserved, order_id: orderId,
  }));
}

/** KpiMinute's count fields and their column names. */
const COUNT_COLUMNS: ReadonlyArray<[(typeof KPI_COUNT_FIELDS)[number], KpiCountColumn]> = KPI_COUNT_FIELDS.map((field) => [
  field, field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`) as KpiCountColumn,
]);

function kpiShares(event: CloudEvent): KpiShareRow[] {
  const share = kpiContribution(event);
  if (share === undefined) return [];
  const currency = currencyOf(event, share);
  const row = {
    minute: dateTimeText(share.minute), currency,
    gmv_units: toMoneyUnits(share.gmv[currency] ?? 0), authorized_units: toMoneyUnits(share.authorizedAmount[currency] ?? 0),
  } as KpiShareRow;
  for (const [field, column] of COUNT_COLUMNS) row[column] = share[field];
  return [row];
}

/** The currency of the event's money, else the one its data names (payment.failed), else ''. */
function currencyOf(event: CloudEvent, share: KpiMinute): string {
  const [money] = Object.keys({ ...share.gmv, ...share.authorizedAmount });
  if (money !== undefined) return money;
  return typeof event.data.currency === 'string' ? event.data.currency : '';
}

function orderShares(event: CloudEvent): OrderShareRow[] {
  if (orderIdOf(event) === undefined) return [];
  // The orders projection's own fold, over this one event: the view merges these as evolveOrder merges events.
  const order = evolveOrder(undefined, event);
  return [{
    order_id: order.orderId,
    stage: Object.keys(order.stages)[0] ?? '',
    customer_id: order.customerId ?? '',
    channel: order.channel ?? '',
    currency: order.currency ?? '',
    total_units: toMoneyUnits(order.total ?? 0),
    item_count: order.itemCount,
    placed_rank: rankText(order.placedRank),
    warehouse_id: order.warehouseId ?? '',
    warehouse_rank: rankText(order.warehouseRank),
    payment_failures: order.paymentFailures,
    refunded_units: toMoneyUnits(order.refunded),
    cancel_reason: order.cancelReason ?? '',
    cancel_rank: rankText(order.cancelRank),
  }];
}

/**
 * A rank as text whose order is the rank's order (compareRanks), so that
 * ClickHouse's argMin over the text picks the event evolveOrder picks: tier,
 * then the instant (fixed-width epoch ms), then the time as written, then the
 * eventKey. Times are RFC 3339 (ASCII, and no valid one is a prefix of
 * another), so the fields never run into each other. ClickHouse compares
 * UTF-8 bytes and JavaScript UTF-16 units: they agree except between
 * characters above U+FFFF and U+E000–U+FFFF in a source or id at the same
 * place, which never decides between two events of one order in practice.
 */
export function rankText(rank: Rank | null): string {
  if (rank === null) return '';
  return `${rank.tier}|${String(parseTime(rank.time)).padStart(15, '0')}|${rank.time}|${rank.key}`;
}

/** RFC 3339 UTC ("…T10:15:00.000Z") as ClickHouse DateTime text ("… 10:15:00"). */
function dateTimeText(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
}
