/** The inventory view: stock per warehouse + sku, with available and low stock derived at read time. */
import { z } from 'zod';
import { inventoryRow, parseInventoryHash, readModelKeys } from '../../shared/read-models.ts';
import type { InventoryState } from '../../shared/views.ts';
import type { ReadModelSource } from './read-model-source.ts';

export const inventoryFilter = z.strictObject({
  warehouseId: z.string().min(1).optional(),
  sku: z.string().min(1).optional(),
  lowStock: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
});
export type InventoryFilter = z.infer<typeof inventoryFilter>;

export interface ReorderLevels {
  defaultReorderLevel: number;
  /** Per sku, overriding the default. */
  reorderLevels: Readonly<Record<string, number>>;
}

export async function readInventory(source: ReadModelSource, filter: InventoryFilter, levels: ReorderLevels): Promise<InventoryState> {
  const warehouses = filter.warehouseId ? [filter.warehouseId] : (await source.sMembers(readModelKeys.inventoryWarehouses)).sort();
  const hashes = await Promise.all(warehouses.map((w) => source.hGetAll(readModelKeys.inventory(w))));
  const rows = warehouses
    .flatMap((w, i) => parseInventoryHash(w, hashes[i]!))
    .map((stored) => inventoryRow(stored, levels.reorderLevels[stored.sku] ?? levels.defaultReorderLevel))
    .filter((row) => (filter.sku === undefined || row.sku === filter.sku) && (filter.lowStock === undefined || row.lowStock === filter.lowStock))
    .sort((a, b) => (a.warehouseId === b.warehouseId ? compare(a.sku, b.sku) : compare(a.warehouseId, b.warehouseId)));
  return { rows };
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
