import { describe, expect, it } from 'vitest';
import type { CloudEvent } from '../../shared/cloudevent.ts';
import { ENTRY_FIELDS } from '../../shared/streams.ts';
import { inventoryReceived, orderPlaced } from '../../test/support/events.ts';
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
});
