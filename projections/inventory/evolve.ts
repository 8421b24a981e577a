/**
 * Stock per (warehouseId, sku) (DESIGN.md section 4, Inventory), as signed
 * deltas per event. Sums commute, so applying each distinct event's deltas
 * once, in any order, ends in the same stock.
 */
import { eventKey, type CloudEvent } from '../../shared/cloudevent.ts';
import type { DomainEvents, StockLine } from '../../shared/domain.ts';

/** A stored inventory row: what Redis keeps; available and lowStock are derived in shared/. */
export interface InventoryStored { warehouseId: string; sku: string; onHand: number; reserved: number }

/** One event's effect on one row. Rows with no effect are left out. */
export type StockDelta = InventoryStored;

/** Data as the registry's schema (newest version) guarantees it after ingest and upcasting. */
const dataOf = <T extends keyof DomainEvents>(event: CloudEvent, _type: T) => event.data as unknown as DomainEvents[T];

/** The stock deltas of one event, summed per sku, sorted by sku; empty for events that move no stock. */
export function stockDeltas(event: CloudEvent): StockDelta[] {
  switch (event.type) {
    case 'inventory.received': {
      const { warehouseId, sku, qty } = dataOf(event, 'inventory.received');
      return nonZero([{ warehouseId, sku, onHand: qty, reserved: 0 }]);
    }
    case 'inventory.adjusted': {
      const { warehouseId, sku, delta } = dataOf(event, 'inventory.adjusted');
      return nonZero([{ warehouseId, sku, onHand: delta, reserved: 0 }]);
    }
    case 'inventory.reserved': {
      const { warehouseId, items } = dataOf(event, 'inventory.reserved');
      return perSku(warehouseId, items, 0, 1);
    }
    case 'inventory.released': {
      const { warehouseId, items } = dataOf(event, 'inventory.released');
      return perSku(warehouseId, items, 0, -1);
    }
    case 'shipment.created': {
      // Shipped goods leave the shelf and their reservation with them.
      const { warehouseId, items } = dataOf(event, 'shipment.created');
      return perSku(warehouseId, items, -1, -1);
    }
    default:
      // inventory.reservation_failed reserved nothing, so it moves nothing.
      return [];
  }
}

function perSku(warehouseId: string, items: StockLine[], onHandSign: number, reservedSign: number): StockDelta[] {
  const qtyBySku = new Map<string, number>();
  for (const { sku, qty } of items) qtyBySku.set(sku, (qtyBySku.get(sku) ?? 0) + qty);
  const deltas = [...qtyBySku].map(([sku, qty]) => ({ warehouseId, sku, onHand: onHandSign * qty, reserved: reservedSign * qty }));
  return nonZero(deltas).sort(compareRows);
}

const nonZero = (deltas: StockDelta[]): StockDelta[] => deltas.filter((d) => d.onHand !== 0 || d.reserved !== 0);

/** Rows sort by warehouseId, then sku (code-unit order, not locale order, so it is the same everywhere). */
export function compareRows(a: Pick<InventoryStored, 'warehouseId' | 'sku'>, b: Pick<InventoryStored, 'warehouseId' | 'sku'>): number {
  const text = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);
  return text(a.warehouseId, b.warehouseId) || text(a.sku, b.sku);
}

/**
 * The stock after each distinct event (by source + id) once: the reference
 * for tests and the state at a past time (asOf). Rows touched by any delta
 * are kept even when they sum to zero, as their Redis fields are.
 */
export function foldInventory(events: Iterable<CloudEvent>): InventoryStored[] {
  const seen = new Set<string>();
  const rows = new Map<string, InventoryStored>();
  for (const event of events) {
    const key = eventKey(event);
    if (seen.has(key)) continue;
    seen.add(key);
    for (const delta of stockDeltas(event)) {
      const rowKey = JSON.stringify([delta.warehouseId, delta.sku]);
      const row = rows.get(rowKey) ?? { warehouseId: delta.warehouseId, sku: delta.sku, onHand: 0, reserved: 0 };
      rows.set(rowKey, { ...row, onHand: row.onHand + delta.onHand, reserved: row.reserved + delta.reserved });
    }
  }
  return [...rows.values()].sort(compareRows);
}
