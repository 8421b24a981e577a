/**
 * What a rebuild needs of the event store (ClickHouse `events`, server/history):
 * a port, because projections/ may not import server/ (.dependency-cruiser.cjs).
 * The composition root (server/eventdeck.ts) hands over server/rebuild/stored-events.ts.
 *
 * Positions are per partition: `below[p]` is a stream id of partition p, and an
 * event belongs to the read when the copy the store keeps of it (copies of an
 * event collapse to one) was stored from partition p with a stream id below it.
 * Each event is given once (by source + id), as it was accepted (not upcast).
 */
import type { CloudEvent } from '../../shared/cloudevent.ts';

export interface RebuildEventStore {
  /** The stored rows `read(below)` collapses to its events: at least as many, equal once merges have run (for progress). */
  countRows(below: readonly string[]): Promise<number>;
  /** The events, in batches of a bounded size, streamed: memory does not grow with the store. */
  read(below: readonly string[], signal?: AbortSignal): AsyncIterable<CloudEvent[]>;
}
