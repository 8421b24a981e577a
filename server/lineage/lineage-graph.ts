/**
 * One flow's stored events as a graph by causation: an edge from the event
 * whose id an event names as its causationid. Pure: rows in, graph out.
 */
import { refKey, type EventRef, type Lineage, type LineageEdge, type LineageNode } from '../../shared/lineage.ts';
import type { Registry } from '../../shared/registry.ts';
import { maskSensitive } from '../registry/mask-sensitive.ts';

/** The columns of `events` a lineage reads. */
export interface LineageRow {
  id: string;
  source: string;
  type: string;
  time_unix_ms: number;
  subject: string;
  causationid: string;
  dataversion: number;
  extensions: string;
  data: string;
}

/**
 * The graph of rows ordered by time (then source, id). A causationid names an
 * id only; when several events of the flow share that id (other sources), the
 * cause is the latest of them not after the effect, else the earliest.
 */
export function lineageGraph(correlationId: string, rows: readonly LineageRow[], registry: Registry, truncated = false): Lineage {
  const byId = new Map<string, LineageRow[]>();
  for (const row of rows) byId.set(row.id, [...(byId.get(row.id) ?? []), row]);

  const nodes: LineageNode[] = [];
  const edges: LineageEdge[] = [];
  const roots: EventRef[] = [];
  for (const row of rows) {
    const ref = { source: row.source, id: row.id };
    const cause = row.causationid === '' ? undefined : causeOf(row, byId.get(row.causationid) ?? []);
    const causeRef = cause ? { source: cause.source, id: cause.id } : null;
    const gapMs = cause ? row.time_unix_ms - cause.time_unix_ms : null;
    const { data, masked } = maskSensitive(parseJson(row.data), registry.get(row.type));
    nodes.push({
      ...ref,
      type: row.type,
      time: new Date(row.time_unix_ms).toISOString(),
      subject: row.subject === '' ? null : row.subject,
      dataversion: row.dataversion,
      causationid: row.causationid === '' ? null : row.causationid,
      cause: causeRef,
      gapMs,
      traceId: traceIdOf(row.extensions),
      data,
      masked,
    });
    if (causeRef && gapMs !== null) edges.push({ from: causeRef, to: ref, gapMs });
    else roots.push(ref);
  }
  return { correlationId, nodes, edges, roots, truncated };
}

function causeOf(effect: LineageRow, candidates: readonly LineageRow[]): LineageRow | undefined {
  // An event that names itself has no cause in the flow: it is a root, not a loop.
  const others = candidates.filter((c) => refKey(c) !== refKey(effect));
  const before = others.filter((c) => c.time_unix_ms <= effect.time_unix_ms);
  return before[before.length - 1] ?? others[0];
}

/** The trace id of a W3C traceparent (`00-<trace id>-<parent id>-<flags>`) among the extensions, if any. */
export function traceIdOf(extensions: string): string | null {
  const traceparent = (parseJson(extensions) as { traceparent?: unknown }).traceparent;
  const match = typeof traceparent === 'string' ? /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/.exec(traceparent) : null;
  return match ? match[1]! : null;
}

function parseJson(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {}; // SyntaxError: the store only holds JSON it wrote, but a hand-made row must not break the page
  }
}
