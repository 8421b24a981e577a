/**
 * What a projection is, to the engine. Two kinds, by how their state is kept:
 *
 * - keyed: one JSON document per aggregate (e.g. per order), evolved by a pure
 *   `evolve(state, event)`. The engine reads the documents a batch touches,
 *   folds the events in stream order, and writes the results back.
 * - counter: commutative integer increments (e.g. stock per warehouse + sku,
 *   KPIs per minute). Many partitions may add to one row at once, safely.
 *
 * Both end in `Change`s that the engine commits with the checkpoint in one
 * MULTI/EXEC. A projection module is pure: no Redis, clock or randomness.
 */
import type { CloudEvent } from '../shared/cloudevent.ts';

export type Change =
  /** HINCRBY: integers only, so sums are exact and order-free. */
  | { op: 'hincr'; key: string; field: string; by: number }
  | { op: 'zadd'; key: string; member: string; score: number }
  | { op: 'zrem'; key: string; member: string }
  | { op: 'sadd'; key: string; member: string };

export interface KeyedProjection<S = unknown> {
  kind: 'keyed';
  name: string;
  /** The views whose version grows when this projection changes. */
  views: readonly string[];
  /** The aggregate an event belongs to, or undefined when the projection ignores the event. */
  keyOf(event: CloudEvent): string | undefined;
  /** Redis key of an aggregate's JSON document. */
  stateKey(key: string): string;
  evolve(state: S | undefined, event: CloudEvent): S;
  /** Index upkeep when an aggregate changes (counts by status, sets by stage). */
  indexChanges(key: string, before: S | undefined, after: S): Change[];
}

export interface CounterProjection {
  kind: 'counter';
  name: string;
  views: readonly string[];
  changes(event: CloudEvent): Change[];
}

export type Projection = KeyedProjection<any> | CounterProjection; // eslint-disable-line @typescript-eslint/no-explicit-any
