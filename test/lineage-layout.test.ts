/** The lineage graph's layout (web/src/lib/lineage-layout.ts): time runs left to right, branches get lanes. */
import { describe, expect, it } from 'vitest';
import type { EventRef, LineageEdge, LineageNode } from '../shared/lineage.ts';
import { layoutLineage } from '../web/src/lib/lineage-layout.ts';

const T = Date.parse('2026-11-26T10:00:00Z');
function flow(steps: Array<[id: string, seconds: number, cause?: string]>): { nodes: LineageNode[]; edges: LineageEdge[] } {
  const ref = (id: string): EventRef => ({ source: '/s', id });
  const nodes = steps.map(([id, seconds, cause]): LineageNode => ({
    ...ref(id), type: 't', time: new Date(T + seconds * 1000).toISOString(), subject: null, dataversion: 1,
    causationid: cause ?? null, cause: cause ? ref(cause) : null, gapMs: null, traceId: null, data: {}, masked: [],
  }));
  const edges = steps.filter(([, , cause]) => cause).map(([id, , cause]) => ({ from: ref(cause!), to: ref(id), gapMs: 0 }));
  return { nodes, edges };
}
const placement = (layout: ReturnType<typeof layoutLineage>) =>
  Object.fromEntries(layout.nodes.map((n) => [n.node.id, [n.column, n.lane]]));

describe('laying out a flow', () => {
  it('puts a chain in one lane, one column per event in time order, whatever order the events come in', () => {
    const { nodes, edges } = flow([['c', 3, 'b'], ['a', 1], ['b', 2, 'a']]);
    const layout = layoutLineage({ nodes, edges });
    expect(placement(layout)).toEqual({ a: [0, 0], b: [1, 0], c: [2, 0] });
    expect(layout.lanes).toBe(1);
    expect(layout.edges.map((e) => e.path.startsWith('M') && !e.path.includes('C'))).toEqual([true, true]);
  });

  it('gives a later effect of the same cause a lane of its own, and reuses lanes once free', () => {
    // a → b → d and a → c (c later than b); e is a second root after everything else ended.
    const { nodes, edges } = flow([['a', 0], ['b', 1, 'a'], ['c', 2, 'a'], ['d', 3, 'b'], ['e', 9]]);
    const layout = layoutLineage({ nodes, edges });
    expect(placement(layout)).toEqual({ a: [0, 0], b: [1, 0], c: [2, 1], d: [3, 0], e: [4, 1] });
    expect(layout.lanes).toBe(2);
    // The edge to c turns into its lane right after a, so it crosses no box.
    expect(layout.edges.find((e) => e.edge.to.id === 'c')!.path).toContain('C');
  });

  it('lays out a causation loop (no root) without losing events', () => {
    const { nodes, edges } = flow([['a', 0, 'b'], ['b', 1, 'a']]);
    const layout = layoutLineage({ nodes, edges });
    expect(layout.nodes).toHaveLength(2);
    expect(layout.edges).toHaveLength(2);
  });
});
