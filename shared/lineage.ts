/**
 * The lineage of one business flow as clients see it (`GET /api/lineage/:correlationId`):
 * the flow's events from the event store as a graph by causation, and the
 * flows a W3C trace touched (`GET /api/lineage?traceId=`).
 */

/** An event's identity: source + id. */
export interface EventRef {
  source: string;
  id: string;
}

/** One event of the flow. */
export interface LineageNode extends EventRef {
  type: string;
  /** Business time, RFC 3339 UTC with milliseconds. */
  time: string;
  /** The aggregate, null when the event has none. */
  subject: string | null;
  dataversion: number;
  /** The causationid the event carries, as sent (null when it has none). */
  causationid: string | null;
  /** The event of this flow that caused it; null for a root (no causationid, or its cause is not in this flow). */
  cause: EventRef | null;
  /** Milliseconds from the cause's time to this one's (negative when the clocks disagree); null for a root. */
  gapMs: number | null;
  /** The trace id of its traceparent, when it carries one. */
  traceId: string | null;
  /** The event's data, with every field the registry marks `x-sensitive` replaced by MASKED. */
  data: Record<string, unknown>;
  /** JSON pointers (into data) of the fields that were masked. */
  masked: string[];
}

/** A causal edge: `from` caused `to` (to.causationid = from.id). */
export interface LineageEdge {
  from: EventRef;
  to: EventRef;
  gapMs: number;
}

export interface Lineage {
  correlationId: string;
  /** Ordered by time (then source, id). */
  nodes: LineageNode[];
  edges: LineageEdge[];
  /** The nodes without a cause in this flow, in time order. */
  roots: EventRef[];
  /** True when the flow has more events than LINEAGE_MAX_EVENTS: only the earliest are here. */
  truncated: boolean;
}

/** The flows (correlation ids) whose events carry one trace id. */
export interface TraceLineage {
  traceId: string;
  /** Earliest first; at most LINEAGE_MAX_FLOWS. */
  flows: Array<{ correlationId: string; events: number; firstAt: string; lastAt: string }>;
  /** Events of the trace that carry no correlation id (they belong to no flow). */
  uncorrelatedEvents: number;
}

/** What a masked value reads as (everywhere the same). */
export { MASKED } from './cloudevent.ts';

/** A lineage holds at most this many events (the earliest). */
export const LINEAGE_MAX_EVENTS = 1000;

/** A trace search lists at most this many flows. */
export const LINEAGE_MAX_FLOWS = 100;

/** Identity as one string (length-prefixed, so no two refs collide): for maps and DOM keys. */
export const refKey = (ref: EventRef): string => `${ref.source.length}:${ref.source}${ref.id}`;
