/**
 * The inventory projection: counters in one Redis hash per warehouse, field
 * "<sku>|onHand" / "<sku>|reserved". Increments commute, so many partitions
 * may add to one row at once.
 */
import type { CloudEvent } from '../../shared/cloudevent.ts';
import { inventoryField, readModelKeys } from '../../shared/read-models.ts';
import type { Change, CounterProjection } from '../projection.ts';
import { stockDeltas } from './evolve.ts';

const MEASURES = ['onHand', 'reserved'] as const;

/** The event types it reads (GET /api/catalog); test/catalog-consumes.test.ts holds this to what it reacts to. */
export const inventoryConsumes: readonly string[] = [
  'inventory.received', 'inventory.adjusted', 'inventory.reserved', 'inventory.released', 'shipment.created',
];

export function inventoryChanges(event: CloudEvent): Change[] {
  const changes: Change[] = [];
  const warehouses = new Set<string>();
  for (const delta of stockDeltas(event)) {
    for (const measure of MEASURES) {
      if (delta[measure] === 0) continue;
      changes.push({ op: 'hincr', key: readModelKeys.inventory(delta.warehouseId), field: inventoryField(delta.sku, measure), by: delta[measure] });
    }
    warehouses.add(delta.warehouseId);
  }
  for (const warehouseId of warehouses) changes.push({ op: 'sadd', key: readModelKeys.inventoryWarehouses, member: warehouseId });
  return changes;
}

/** Reading the hash back is the server's job too, so the one parser lives in shared/. */
export { parseInventoryHash } from '../../shared/read-models.ts';

export const inventoryProjection: CounterProjection = {
  kind: 'counter',
  name: 'inventory',
  views: ['inventory', 'overview'],
  changes: inventoryChanges,
};
