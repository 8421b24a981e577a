/** The orders view: the newest orders (by placed time), filtered by status and warehouse, with counts by status. */
import { z } from 'zod';
import { ORDER_STAGES, readModelKeys, type Order, type OrderStatus } from '../../shared/read-models.ts';
import type { OrdersState } from '../../shared/views.ts';
import type { ReadModelSource } from './read-model-source.ts';
import { toOrder } from './stored-order.ts';

export const ordersFilter = z.strictObject({
  status: z.enum(ORDER_STAGES).optional(),
  warehouseId: z.string().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});
export type OrdersFilter = z.infer<typeof ordersFilter>;

const PAGE = 200;
/** How far down the index a two-way filter looks before it settles for fewer rows. */
const MAX_SCANNED = 10_000;

export async function readOrders(source: ReadModelSource, filter: OrdersFilter): Promise<OrdersState> {
  const index = filter.status
    ? readModelKeys.ordersByStatus(filter.status)
    : filter.warehouseId ? readModelKeys.ordersByWarehouse(filter.warehouseId) : readModelKeys.ordersRecent;
  const orders: Order[] = [];
  for (let offset = 0; orders.length < filter.limit && offset < MAX_SCANNED; offset += PAGE) {
    const ids = await source.zRange(index, offset, offset + PAGE - 1, { REV: true });
    if (ids.length === 0) break;
    const documents = await source.mGet(ids.map((id) => readModelKeys.order(id)));
    for (const json of documents) {
      if (!json) continue;
      const order = toOrder(JSON.parse(json));
      if (filter.status && order.status !== filter.status) continue;
      if (filter.warehouseId && order.warehouseId !== filter.warehouseId) continue;
      orders.push(order);
      if (orders.length === filter.limit) break;
    }
    if (ids.length < PAGE) break;
  }
  const stored = await source.hGetAll(readModelKeys.orderCounts);
  const counts = Object.fromEntries(ORDER_STAGES.map((s) => [s, Number(stored[s] ?? 0)])) as Record<OrderStatus, number>;
  return { orders, counts, total: Object.values(counts).reduce((a, b) => a + b, 0) };
}
