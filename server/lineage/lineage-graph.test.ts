import { describe, expect, it } from 'vitest';
import { buildRegistry } from '../registry/build.ts';
import { MASKED } from '../../shared/lineage.ts';
import { lineageGraph, traceIdOf, type LineageRow } from './lineage-graph.ts';

const registry = buildRegistry();
const T = Date.parse('2026-11-26T10:00:00Z');
let n = 0;
function row(type: string, seconds: number, causationid = '', data: Record<string, unknown> = { orderId: 'o-1' }, extra: Partial<LineageRow> = {}): LineageRow {
  n += 1;
  return {
    id: `e-${n}`, source: '/shop', type, time_unix_ms: T + seconds * 1000, subject: 'o-1', causationid, dataversion: 1,
    extensions: '{}', data: JSON.stringify(data), ...extra,
  };
}

describe('a flow as a graph by causation', () => {
  it('links each event to its cause, with the gap, and makes events without a cause roots', () => {
    const placed = row('order.placed', 0, '', { orderId: 'o-1', customerId: 'c-9' }, { extensions: JSON.stringify({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' }) });
    const failed = row('payment.failed', 2.5, placed.id);
    const released = row('inventory.released', 3, failed.id);
    const cancelled = row('order.cancelled', 4, released.id);
    const stray = row('payment.refunded', 5, 'not-in-this-flow');
    const graph = lineageGraph('o-1', [placed, failed, released, cancelled, stray], registry);

    expect(graph.nodes.map((node) => [node.type, node.cause?.id ?? null, node.gapMs])).toEqual([
      ['order.placed', null, null],
      ['payment.failed', placed.id, 2500],
      ['inventory.released', failed.id, 500],
      ['order.cancelled', released.id, 1000],
      ['payment.refunded', null, null],
    ]);
    expect(graph.edges).toEqual([
      { from: { source: '/shop', id: placed.id }, to: { source: '/shop', id: failed.id }, gapMs: 2500 },
      { from: { source: '/shop', id: failed.id }, to: { source: '/shop', id: released.id }, gapMs: 500 },
      { from: { source: '/shop', id: released.id }, to: { source: '/shop', id: cancelled.id }, gapMs: 1000 },
    ]);
    expect(graph.roots).toEqual([{ source: '/shop', id: placed.id }, { source: '/shop', id: stray.id }]);
    expect(graph.nodes[4]!.causationid).toBe('not-in-this-flow');
    expect(graph.nodes[0]!.data).toEqual({ orderId: 'o-1', customerId: MASKED });
    expect(graph.nodes[0]!.masked).toEqual(['/customerId']);
    expect(graph.nodes[0]!.traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(graph.nodes[0]!.time).toBe('2026-11-26T10:00:00.000Z');
  });

  it('takes an event that names itself as a root, not a loop', () => {
    const self = row('order.placed', 0);
    self.causationid = self.id;
    expect(lineageGraph('o-1', [self], registry).roots).toHaveLength(1);
  });

  it('picks, among events of other sources sharing the id, the latest one not after the effect', () => {
    const early = row('order.placed', 0, '', undefined, { id: 'dup', source: '/a' });
    const late = row('inventory.reserved', 10, '', undefined, { id: 'dup', source: '/b' });
    const effect = row('payment.authorized', 5, 'dup');
    const graph = lineageGraph('o-1', [early, effect, late], registry);
    expect(graph.nodes[1]!.cause).toEqual({ source: '/a', id: 'dup' });
  });

  it('reads the trace id of a well-formed traceparent only', () => {
    expect(traceIdOf(JSON.stringify({ traceparent: 'nonsense' }))).toBeNull();
    expect(traceIdOf('{}')).toBeNull();
  });
});
