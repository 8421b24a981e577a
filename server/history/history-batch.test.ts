import { describe, expect, it } from 'vitest';
import type { CloudEvent } from '../../shared/cloudevent.ts';
import { ENTRY_FIELDS } from '../../shared/streams.ts';
import { inventoryReceived, orderPlaced, shipmentCreated } from '../../test/support/events.ts';
import { toAnalyticRows } from '../../projections/analytics/to-rows.ts';
import { planHistoryBatch } from './history-batch.ts';

const entry = (id: string, event: CloudEvent | string, acceptedAt = 1_795_000_000_000) => ({
  id,
  message: { [ENTRY_FIELDS.event]: typeof event === 'string' ? event : JSON.stringify(event), [ENTRY_FIELDS.acceptedAt]: String(acceptedAt) },
});

describe('planning a history batch', () => {
  it('makes one insert per month of event time, oldest month first, rows in stream order', () => {
    const batch = planHistoryBatch(3, [
      entry('1-0', orderPlaced({}, { time: '2026-11-30T23:59:59.500Z' })),
      entry('1-1', orderPlaced({}, { time: '2026-10-01T00:00:00Z' })),
      entry('1-2', inventoryReceived({}, { time: '2026-11-01T00:00:00Z' })),
    ]);
    expect(batch.inserts.map((i) => [i.month, i.rows.map((r) => r.stream_id)])).toEqual([
      ['2026-10', ['1-1']],
      ['2026-11', ['1-0', '1-2']],
    ]);
    expect(batch.inserts[1]!.rows[0]).toMatchObject({ stream_partition: 3, accepted_unix_ms: 1_795_000_000_000, time: '2026-11-30 23:59:59' });
    expect(batch.ids).toEqual(['1-0', '1-1', '1-2']);
    expect(batch.deadLetters).toEqual([]);
  });

  it('dead-letters what can never be stored (not JSON, not an event, a time outside DateTime) and keeps the rest', () => {
    const good = orderPlaced();
    const batch = planHistoryBatch(0, [
      entry('2-0', '{not json'),
      entry('2-1', JSON.stringify({ ...good, id: undefined })),
      entry('2-2', orderPlaced({}, { time: '1969-12-31T23:59:59Z' })),
      entry('2-3', good),
    ]);
    expect(batch.deadLetters.map((d) => [d.entry.id, d.error])).toEqual([
      ['2-0', expect.stringContaining('cannot decode')],
      ['2-1', expect.stringContaining('id is missing')],
      ['2-2', expect.stringContaining('EventTimeOutOfRangeError')],
    ]);
    expect(batch.inserts.flatMap((i) => i.rows.map((r) => r.id))).toEqual([good.id]);
    expect(batch.ids).toEqual(['2-0', '2-1', '2-2', '2-3']);
  });

  it('is deterministic: the same entries give the same inserts', () => {
    const entries = [entry('3-0', orderPlaced()), entry('3-1', inventoryReceived())];
    expect(planHistoryBatch(1, entries)).toEqual(planHistoryBatch(1, entries));
  });

  it('with the analytic mapping, adds the analytic rows of each month after its events rows, each with the identity and time of its event', () => {
    // given events of two months, one of which moves no stock
    const placed = orderPlaced({ orderId: 'o-1' }, { time: '2026-11-30T23:59:59.500Z' });
    const shipped = shipmentCreated({ orderId: 'o-1', items: [{ sku: 'a', qty: 1 }, { sku: 'b', qty: 2 }] }, { time: '2026-12-01T08:00:00Z' });
    // when
    const batch = planHistoryBatch(3, [entry('4-0', shipped), entry('4-1', placed)], toAnalyticRows);
    // then events are planned as without it, and the analytic inserts follow, per month and table
    expect(batch.inserts.map((i) => [i.month, i.rows.map((r) => r.id)])).toEqual([['2026-11', [placed.id]], ['2026-12', [shipped.id]]]);
    expect(batch.analyticInserts.map((i) => [i.month, i.table, i.rows.length])).toEqual([
      ['2026-11', 'order_items_raw', 1], ['2026-11', 'kpi_minute_raw', 1], ['2026-11', 'orders_raw', 1],
      ['2026-12', 'inventory_movements_raw', 2], ['2026-12', 'kpi_minute_raw', 1], ['2026-12', 'orders_raw', 1],
    ]);
    const identity = { source: shipped.source, id: shipped.id, type: 'shipment.created', time: '2026-12-01 08:00:00', time_unix_ms: Date.parse(shipped.time) };
    expect(batch.analyticInserts[3]!.rows).toEqual([
      { ...identity, warehouse_id: 'w-1', sku: 'a', on_hand_delta: -1, reserved_delta: -1, order_id: 'o-1' },
      { ...identity, warehouse_id: 'w-1', sku: 'b', on_hand_delta: -2, reserved_delta: -2, order_id: 'o-1' },
    ]);
    expect({ events: batch.events, analyticRows: batch.analyticRows }).toEqual({ events: 2, analyticRows: 7 });
  });

  it('stores an event whose data does not fit its type in events, and dead-letters it for its missing analytic rows', () => {
    // given an order.placed without items, XADDed past ingest's schema check
    const broken = { ...orderPlaced(), data: { orderId: 'o-1' } };
    const good = inventoryReceived();
    // when
    const batch = planHistoryBatch(0, [entry('5-0', broken), entry('5-1', good)], toAnalyticRows);
    // then
    expect(batch.inserts.flatMap((i) => i.rows.map((r) => r.id))).toEqual([broken.id, good.id]);
    expect(batch.deadLetters).toEqual([{ entry: entry('5-0', broken), error: expect.stringMatching(/^stored, but no analytic rows: TypeError/), eventStored: true }]);
    expect(batch.analyticInserts.flatMap((i) => i.rows)).toEqual([expect.objectContaining({ id: good.id, on_hand_delta: 10 })]);
  });
});
