import { describe, expect, it } from 'vitest';
import type { CloudEvent } from '../../shared/cloudevent.ts';
import { inventoryRow, readModelKeys } from '../../shared/read-models.ts';
import {
  inventoryAdjusted, inventoryReceived, inventoryReleased, inventoryReserved, orderPlaced, paymentAuthorized,
  redelivery, reservationFailed, shipmentCreated,
} from '../../test/support/events.ts';
import { applyChanges, emptyReadModels, readHash } from '../apply-changes.ts';
import { compareRows, foldInventory } from './evolve.ts';
import { inventoryChanges, inventoryProjection, parseInventoryHash } from './index.ts';

/** Stored rows of one warehouse after the events' Changes, read back as the server reads them. */
function rowsViaRedis(events: CloudEvent[], warehouseId = 'w-1') {
  const model = applyChanges(emptyReadModels(), events.flatMap(inventoryChanges));
  return parseInventoryHash(warehouseId, readHash(model, readModelKeys.inventory(warehouseId))).sort(compareRows);
}

const row = (sku: string, onHand: number, reserved: number, warehouseId = 'w-1') => ({ warehouseId, sku, onHand, reserved });

describe('stock per warehouse and sku', () => {
  it('received stock adds to onHand', () => {
    // given a receipt of 10
    const events = [inventoryReceived({ qty: 10 })];
    // then
    expect(foldInventory(events)).toEqual([row('sku-1', 10, 0)]);
    expect(rowsViaRedis(events)).toEqual([row('sku-1', 10, 0)]);
  });

  it('an adjustment adds its delta to onHand, and a negative one takes away', () => {
    const events = [inventoryReceived({ qty: 10 }), inventoryAdjusted({ delta: -3 }), inventoryAdjusted({ delta: 1 })];
    expect(foldInventory(events)).toEqual([row('sku-1', 8, 0)]);
  });

  it('a reservation raises reserved and leaves onHand alone', () => {
    const events = [inventoryReceived({ qty: 10 }), inventoryReserved({ items: [{ sku: 'sku-1', qty: 4 }] })];
    expect(foldInventory(events)).toEqual([row('sku-1', 10, 4)]);
  });

  it('a shipment takes its goods off onHand and off reserved', () => {
    const items = [{ sku: 'sku-1', qty: 2 }];
    const events = [inventoryReceived({ qty: 10 }), inventoryReserved({ items }), shipmentCreated({ items })];
    expect(foldInventory(events)).toEqual([row('sku-1', 8, 0)]);
    expect(rowsViaRedis(events)).toEqual([row('sku-1', 8, 0)]);
  });

  it('a compensated order gives its reservation back: reserved then released nets to zero', () => {
    const items = [{ sku: 'sku-1', qty: 3 }];
    const events = [inventoryReceived({ qty: 10 }), inventoryReserved({ items }), inventoryReleased({ items })];
    expect(foldInventory(events)).toEqual([row('sku-1', 10, 0)]);
  });

  it('a failed reservation changes no stock', () => {
    expect(inventoryChanges(reservationFailed())).toEqual([]);
    expect(foldInventory([inventoryReceived({ qty: 5 }), reservationFailed({ items: [{ sku: 'sku-1', qty: 5 }] })])).toEqual([row('sku-1', 5, 0)]);
  });

  it('events that move no stock make no changes', () => {
    expect(inventoryChanges(orderPlaced())).toEqual([]);
    expect(inventoryChanges(paymentAuthorized())).toEqual([]);
  });

  it('a delivery counted twice moves stock once', () => {
    const receipt = inventoryReceived({ qty: 7 });
    expect(foldInventory([receipt, redelivery(receipt)])).toEqual([row('sku-1', 7, 0)]);
  });

  it('keeps rows per warehouse and sku apart, sorted by warehouse then sku', () => {
    const events = [
      inventoryReceived({ warehouseId: 'w-2', sku: 'b', qty: 1 }), inventoryReceived({ warehouseId: 'w-1', sku: 'b', qty: 2 }),
      inventoryReceived({ warehouseId: 'w-1', sku: 'a', qty: 3 }),
    ];
    expect(foldInventory(events)).toEqual([row('a', 3, 0), row('b', 2, 0), row('b', 1, 0, 'w-2')]);
  });

  it('stores onHand and reserved only: available and lowStock are derived by the shared inventoryRow', () => {
    const [stored] = foldInventory([inventoryReceived({ qty: 12 }), inventoryReserved({ items: [{ sku: 'sku-1', qty: 5 }] })]);
    expect(stored).toEqual(row('sku-1', 12, 5));
    expect(inventoryRow(stored!, 10)).toMatchObject({ available: 7, lowStock: true });
  });
});

describe('redis changes', () => {
  it('increments the warehouse hash per sku and measure, and lists the warehouse', () => {
    expect(inventoryChanges(shipmentCreated({ warehouseId: 'w-2', items: [{ sku: 'sku-1', qty: 2 }] }))).toEqual([
      { op: 'hincr', key: readModelKeys.inventory('w-2'), field: 'sku-1|onHand', by: -2 },
      { op: 'hincr', key: readModelKeys.inventory('w-2'), field: 'sku-1|reserved', by: -2 },
      { op: 'sadd', key: readModelKeys.inventoryWarehouses, member: 'w-2' },
    ]);
  });

  it('skips zero increments: a reservation touches only reserved, and a zero adjustment changes nothing', () => {
    expect(inventoryChanges(inventoryReserved()).map((c) => (c.op === 'hincr' ? c.field : c.op))).toEqual(['sku-1|reserved', 'sadd']);
    expect(inventoryChanges(inventoryAdjusted({ delta: 0 }))).toEqual([]);
  });

  it('sums the lines of one sku in one event into one increment', () => {
    const changes = inventoryChanges(inventoryReserved({ items: [{ sku: 'a', qty: 1 }, { sku: 'a', qty: 2 }] }));
    expect(changes).toContainEqual({ op: 'hincr', key: readModelKeys.inventory('w-1'), field: 'a|reserved', by: 3 });
    expect(changes).toHaveLength(2);
  });

  it('reads a hash back into rows, splitting each field at its last "|" so a sku may hold one', () => {
    const rows = parseInventoryHash('w-1', { 'a|b|onHand': '4', 'a|b|reserved': '1', 'c|reserved': '2', stray: '9', 'd|other': '1' }).sort(compareRows);
    expect(rows).toEqual([row('a|b', 4, 1), row('c', 0, 2)]);
  });

  it('is a counter projection of the inventory and overview views', () => {
    expect(inventoryProjection).toMatchObject({ kind: 'counter', name: 'inventory', views: ['inventory', 'overview'] });
  });
});
