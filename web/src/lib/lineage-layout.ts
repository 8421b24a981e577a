/**
 * Where each event of a flow goes in the lineage graph: left to right by
 * time (one column per event, in time order), top to bottom by branch of
 * causation. Pure, no DOM: unit-tested in Node (test/lineage-layout.test.ts).
 *
 * Each event has at most one cause, so causation is a forest and needs no
 * general graph layout (a layered one would also rank by causal depth, not by
 * time). A branch follows each event's earliest effect; a later effect starts
 * a branch of its own. Branches get lanes by interval colouring: the lowest
 * lane free from the cause's column on, so an edge runs horizontally in its
 * lane and never crosses a box.
 */
import { refKey, type EventRef, type Lineage, type LineageEdge, type LineageNode } from '../../../shared/lineage.ts';

export const NODE_W = 196;
export const NODE_H = 68;
export const COL_GAP = 40;
/** Room above each box for its failure or compensation tag. */
export const LANE_GAP = 32;
export const PAD = 20;

export interface PlacedNode {
  node: LineageNode;
  key: string;
  column: number;
  lane: number;
  x: number;
  y: number;
}

export interface PlacedEdge {
  edge: LineageEdge;
  key: string;
  /** The target's key, to style an edge by what it leads to. */
  to: string;
  /** SVG path data from the cause's right side to the effect's left side. */
  path: string;
}

export interface LineageLayout {
  nodes: PlacedNode[];
  edges: PlacedEdge[];
  lanes: number;
  width: number;
  height: number;
}

const byTime = (a: LineageNode, b: LineageNode): number =>
  Date.parse(a.time) - Date.parse(b.time) || compare(a.source, b.source) || compare(a.id, b.id);
const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function layoutLineage(lineage: Pick<Lineage, 'nodes' | 'edges'>): LineageLayout {
  const ordered = [...lineage.nodes].sort(byTime);
  const column = new Map(ordered.map((node, i) => [refKey(node), i]));
  const known = (ref: EventRef | null): ref is EventRef => ref !== null && column.has(refKey(ref));

  // Effects of each event, earliest first (ordered is by time already).
  const effects = new Map<string, LineageNode[]>();
  for (const node of ordered) {
    if (!known(node.cause)) continue;
    const causeKey = refKey(node.cause);
    effects.set(causeKey, [...(effects.get(causeKey) ?? []), node]);
  }

  // Branches in the order they start: from each root (or an event left over, e.g. in a causation loop), follow the earliest effect.
  const branchOf = new Map<string, number>();
  const branches: Array<{ start: number; end: number }> = [];
  for (const first of ordered) {
    if (branchOf.has(refKey(first))) continue;
    const index = branches.length;
    const causeColumn = known(first.cause) ? column.get(refKey(first.cause))! : undefined;
    const startColumn = column.get(refKey(first))!;
    // A branch needs its lane from just after its cause (where its edge turns into the lane) to its last event;
    // a root, from one column before it, so it never sits right after an unrelated event as if that caused it.
    const branch = { start: causeColumn !== undefined && causeColumn < startColumn ? causeColumn + 0.5 : startColumn - 1, end: startColumn };
    branches.push(branch);
    let node: LineageNode | undefined = first;
    while (node && !branchOf.has(refKey(node))) {
      branchOf.set(refKey(node), index);
      branch.end = Math.max(branch.end, column.get(refKey(node))!);
      node = (effects.get(refKey(node)) ?? []).find((effect) => !branchOf.has(refKey(effect)));
    }
  }

  // Interval colouring, by start: optimal for intervals, so as few lanes as the branches allow.
  const laneEnds: number[] = [];
  const laneOfBranch = new Map<number, number>();
  [...branches.keys()].sort((a, b) => branches[a]!.start - branches[b]!.start || a - b).forEach((b) => {
    const { start, end } = branches[b]!;
    let lane = laneEnds.findIndex((laneEnd) => laneEnd < start);
    if (lane === -1) lane = laneEnds.length;
    laneEnds[lane] = end;
    laneOfBranch.set(b, lane);
  });

  const nodes = ordered.map((node): PlacedNode => {
    const key = refKey(node);
    const c = column.get(key)!;
    const lane = laneOfBranch.get(branchOf.get(key)!)!;
    return { node, key, column: c, lane, x: PAD + c * (NODE_W + COL_GAP), y: PAD + lane * (NODE_H + LANE_GAP) };
  });
  const placed = new Map(nodes.map((n) => [n.key, n]));
  const edges = lineage.edges.flatMap((edge): PlacedEdge[] => {
    const from = placed.get(refKey(edge.from));
    const to = placed.get(refKey(edge.to));
    if (!from || !to) return [];
    return [{ edge, key: `${from.key}\u0000${to.key}`, to: to.key, path: edgePath(from, to) }];
  });
  const lanes = Math.max(1, laneEnds.length);
  return {
    nodes,
    edges,
    lanes,
    width: PAD * 2 + Math.max(1, ordered.length) * (NODE_W + COL_GAP) - COL_GAP,
    height: PAD * 2 + lanes * (NODE_H + LANE_GAP) - LANE_GAP,
  };
}

/**
 * Forward: out of the cause's right side, turn into the effect's lane within
 * the gap after the cause's column, then straight to the effect. Backward (a
 * cause later than its effect, when clocks disagree): one curve.
 */
function edgePath(from: PlacedNode, to: PlacedNode): string {
  const x1 = from.x + NODE_W;
  const y1 = from.y + NODE_H / 2;
  const x2 = to.x;
  const y2 = to.y + NODE_H / 2;
  if (to.column > from.column) {
    if (y1 === y2) return `M${x1},${y1} L${x2},${y2}`;
    const turn = x1 + COL_GAP;
    return `M${x1},${y1} C${x1 + COL_GAP / 2},${y1} ${x1 + COL_GAP / 2},${y2} ${turn},${y2} L${x2},${y2}`;
  }
  const lift = Math.max(from.y, to.y) + NODE_H + LANE_GAP / 2;
  return `M${x1},${y1} C${x1 + COL_GAP},${lift} ${x2 - COL_GAP},${lift} ${x2},${y2}`;
}
