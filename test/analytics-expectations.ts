/**
 * The analysts' views in ClickHouse (docs/history.md, "Analytic tables") as
 * the live read models would have them: the comparisons the analytics, history
 * and outage tests make between the two.
 */
import { compareRows } from '../projections/inventory/evolve.ts';
import { ORDER_STAGES, type InventoryRow, type KpiMinute, type Order } from '../shared/read-models.ts';
import { jsonOf } from './support/eventdeck.ts';

/** Runs a SELECT and gives its rows (through /api/query or a HistoryStore). */
export type Sql = (sql: string) => Promise<Array<Record<string, unknown>>>;

/** Per (warehouse, sku): the sums of inventory_movements, as analysts write it. */
export const INVENTORY_TOTALS_SQL = `
SELECT warehouse_id, sku, sum(on_hand_delta) AS on_hand, sum(reserved_delta) AS reserved
FROM inventory_movements
GROUP BY warehouse_id, sku
ORDER BY warehouse_id, sku`;

/** Stock totals from inventory_movements, in the live view's shape without its derived fields, in code-unit order. */
export async function inventoryFromMovements(sql: Sql, warehouses?: ReadonlySet<string>): Promise<Array<Pick<InventoryRow, 'warehouseId' | 'sku' | 'onHand' | 'reserved'>>> {
  const rows = await sql(INVENTORY_TOTALS_SQL);
  return rows
    .map((r) => ({ warehouseId: String(r.warehouse_id), sku: String(r.sku), onHand: Number(r.on_hand), reserved: Number(r.reserved) }))
    .filter((r) => !warehouses || warehouses.has(r.warehouseId))
    .sort(compareRows);
}

/** The live inventory view (GET /api/views/inventory), optionally of some warehouses, without the derived fields. */
export async function liveInventory(apiUrl: string, warehouses?: ReadonlySet<string>): Promise<Array<Pick<InventoryRow, 'warehouseId' | 'sku' | 'onHand' | 'reserved'>>> {
  const view = await jsonOf(await fetch(`${apiUrl}/api/views/inventory`));
  return (view.state.rows as InventoryRow[])
    .map(({ warehouseId, sku, onHand, reserved }) => ({ warehouseId, sku, onHand, reserved }))
    .filter((r) => !warehouses || warehouses.has(r.warehouseId))
    .sort(compareRows);
}

/** "YYYY-MM-DD hh:mm:ss" (UTC) of an instant, as ClickHouse shows a DateTime('UTC'). */
export function dateTimeText(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

/** A live Order as its row of the `orders` view. */
export function orderAsRow(order: Order): Record<string, unknown> {
  const stages: Record<string, unknown> = {};
  for (const stage of ORDER_STAGES) {
    const time = order.stages[stage];
    stages[`${stage}_at`] = time === undefined ? null : dateTimeText(Date.parse(time));
    stages[`${stage}_at_unix_ms`] = time === undefined ? null : Date.parse(time);
  }
  return {
    order_id: order.orderId,
    customer_id: order.customerId,
    warehouse_id: order.warehouseId,
    channel: order.channel,
    currency: order.currency,
    total: order.total,
    item_count: order.itemCount,
    status: order.status,
    ...stages,
    payment_failures: order.paymentFailures,
    refunded: order.refunded,
    cancel_reason: order.cancelReason,
    last_event_at: dateTimeText(Date.parse(order.lastEventAt)),
    last_event_at_unix_ms: Date.parse(order.lastEventAt),
  };
}

/**
 * kpi_minute's rows (one per minute and currency) as the KPI read model's
 * minutes: counts summed over the currencies; a currency is in gmv when an
 * order was placed in it that minute, in authorizedAmount when a payment was
 * authorized in it, as the read model writes money even when zero.
 */
export function kpiMinutesFromRows(rows: ReadonlyArray<Record<string, unknown>>): KpiMinute[] {
  const minutes = new Map<string, KpiMinute>();
  for (const row of rows) {
    const minute = `${String(row.minute).replace(' ', 'T')}.000Z`;
    const kpi = minutes.get(minute) ?? {
      minute, ordersPlaced: 0, gmv: {}, paymentsAuthorized: 0, paymentsFailed: 0, authorizedAmount: {}, cancellations: 0, shipments: 0, deliveries: 0,
    };
    kpi.ordersPlaced += Number(row.orders_placed);
    kpi.paymentsAuthorized += Number(row.payments_authorized);
    kpi.paymentsFailed += Number(row.payments_failed);
    kpi.cancellations += Number(row.cancellations);
    kpi.shipments += Number(row.shipments);
    kpi.deliveries += Number(row.deliveries);
    if (Number(row.orders_placed) > 0) kpi.gmv[String(row.currency)] = Number(row.gmv);
    if (Number(row.payments_authorized) > 0) kpi.authorizedAmount[String(row.currency)] = Number(row.authorized_amount);
    minutes.set(minute, kpi);
  }
  return [...minutes.values()].sort((a, b) => Date.parse(a.minute) - Date.parse(b.minute));
}
